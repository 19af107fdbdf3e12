"""Image classification datasets as torch tensors ``(N, C, H, W)`` in ``[0, 1]`` with int64 labels.

Fashion-MNIST is read from the IDX files of Debian's ``dataset-fashion-mnist`` (or ``$LOCALBOOK_DATA`` or a
torchvision download); CIFAR-10 from its python pickle batches, in ``$LOCALBOOK_DATA/cifar-10-batches-py`` or
downloaded on request. Subsets are taken class-balanced and seeded, so that a quick-scale run sees every class.

CIFAR-10's batches are Python pickles, and unpickling a file can run arbitrary code. So each batch is checked
against the MD5 checksum published with the dataset (the same numbers torchvision checks) *before* it is
opened, and it is then read with a restricted unpickler that builds only dicts, lists, strings, numbers and
NumPy arrays and refuses any other class or function, even for a file the user chose to trust
(``verify=False``). The download (:func:`download_cifar10`, opt-in) checks the archive's published MD5 and
extracts only regular files.
"""
from __future__ import annotations

import gzip
import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from localbook.data import ChecksumError
from localbook.data.registry import DataUnavailableError, locate

__all__ = ["ImageDataset", "load_fashion_mnist", "load_cifar10", "load_images", "balanced_subset",
           "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES", "CIFAR10_MD5", "CIFAR10_URL", "CIFAR10_ARCHIVE_MD5",
           "ChecksumError", "read_cifar10_batch", "download_cifar10", "load_splits"]

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass
class ImageDataset:
    """Images ``x`` (N, C, H, W) float32 in [0, 1], labels ``y`` (N,) int64, class names, source name."""

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str

    def __post_init__(self):
        if self.x.ndim != 4 or self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(f"ImageDataset needs x (N, C, H, W) and y (N,), got {tuple(self.x.shape)} and "
                             f"{tuple(self.y.shape)}")

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> ImageDataset:
        return ImageDataset(self.x.to(device), self.y.to(device), self.classes, self.name)

    def subset(self, idx, name: str | None = None) -> ImageDataset:
        """The images at indices ``idx`` (same classes), named ``name`` (default: this name)."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        return ImageDataset(self.x[idx], self.y[idx], self.classes, name or self.name)

    def split(self, n_held_out: int, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
        """(the rest, a class-balanced held-out subset of ``n_held_out`` images, seeded): a validation set
        taken from a training set, disjoint from what is left for training."""
        if not 0 < n_held_out < len(self):
            raise ValueError(f"n_held_out must be in [1, {len(self) - 1}], got {n_held_out}")
        held = balanced_subset(self.y.numpy(), n_held_out, seed)
        rest = np.setdiff1d(np.arange(len(self)), held)
        return self.subset(rest, f"{self.name} (training part)"), self.subset(held, f"{self.name} (validation part)")

    def summary(self) -> str:
        counts = torch.bincount(self.y, minlength=len(self.classes)).tolist()
        return (f"{self.name}: {len(self)} images of shape {tuple(self.x.shape[1:])}, "
                f"{len(self.classes)} classes, per class {min(counts)}-{max(counts)}")


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): the MNIST family's format."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {body.size} values")
    return body.reshape(shape)


def balanced_subset(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of ``n`` samples with (as nearly as possible) equal counts per class, seeded; all if n is None."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    if n <= 0:
        raise ValueError(f"subset size must be positive, got {n}")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    take = [n // len(classes) + (i < n % len(classes)) for i in range(len(classes))]
    idx = np.concatenate([p[:t] for p, t in zip(per_class, take)])
    return np.sort(idx)


def load_fashion_mnist(split: str = "train", n: int | None = None, seed: int = 0,
                       download: bool = False) -> ImageDataset:
    """Fashion-MNIST ``split`` ("train": 60,000, "test": 10,000), optionally a balanced subset of ``n``."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = locate("fashion-mnist", download=download)
    images = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    idx = balanced_subset(labels, n, seed)
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0).unsqueeze(1)
    return ImageDataset(x, torch.from_numpy(labels[idx]), FASHION_MNIST_CLASSES, f"Fashion-MNIST {split}")


# Published with the dataset (https://www.cs.toronto.edu/~kriz/cifar.html) and checked by torchvision's CIFAR10.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}


def _md5(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class _BatchUnpickler(pickle.Unpickler):
    """Builds only the types a CIFAR batch holds (dict, list, bytes, str, int, NumPy arrays); any other class
    or function named by the pickle is refused, so that a crafted file cannot run code."""

    def find_class(self, module, name):
        from numpy._core.multiarray import _reconstruct

        allowed = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,   # written by numpy < 2 (the real files)
                   ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy >= 2
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
        if (module, name) == ("_codecs", "encode"):                        # bytes written by Python 3, protocol 2
            import codecs

            return codecs.encode
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from a CIFAR-10 batch: a batch holds only dicts, lists, strings "
                "and NumPy arrays; this file is not a CIFAR-10 batch (or was crafted to run code)")
        return allowed[(module, name)]


def read_cifar10_batch(path: str | Path, verify: bool = True) -> dict:
    """One CIFAR-10 python batch as a dict with str keys (``"data"`` (n, 3072) uint8, ``"labels"``, ...).

    ``verify=True`` first checks the file's MD5 against :data:`CIFAR10_MD5` (by its file name) and raises
    :class:`ChecksumError` on a mismatch or an unknown name; ``verify=False`` skips that check (for a copy of
    your own in the same format). Either way the file is read with a restricted unpickler (see the module
    docstring)."""
    path = Path(path)
    if verify:
        expected = CIFAR10_MD5.get(path.name)
        if expected is None:
            raise ChecksumError(f"{path.name} is not a CIFAR-10 batch name ({', '.join(CIFAR10_MD5)}); pass "
                                "verify=False to read a batch of your own in the same format")
        actual = _md5(path)
        if actual != expected:
            raise ChecksumError(f"{path} has MD5 {actual}, the published CIFAR-10 file has {expected}: the copy is "
                                "corrupt or modified. Delete it and download again (load_cifar10(download=True)), "
                                "or pass verify=False if it is a batch of your own in the same format")
    with open(path, "rb") as f:
        batch = _BatchUnpickler(f, encoding="latin1").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{path} holds a {type(batch).__name__}, not a CIFAR-10 batch dict")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}


def download_cifar10(dest: str | Path) -> Path:
    """Download the CIFAR-10 python archive into ``dest``, check its published MD5, extract its regular files
    and check each batch; returns ``dest/cifar-10-batches-py``. Needs network access; called only when a
    loader is given ``download=True``."""
    import tarfile
    import urllib.request

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "cifar-10-python.tar.gz"
    if not archive.exists() or _md5(archive) != CIFAR10_ARCHIVE_MD5:
        partial = archive.with_suffix(".part")
        urllib.request.urlretrieve(CIFAR10_URL, partial)
        partial.replace(archive)
    actual = _md5(archive)
    if actual != CIFAR10_ARCHIVE_MD5:
        archive.unlink()
        raise ChecksumError(f"the download of {CIFAR10_URL} has MD5 {actual}, not the published "
                            f"{CIFAR10_ARCHIVE_MD5}: deleted it; try again")
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and Path(m.name).name in CIFAR10_MD5
                   and Path(m.name).parent.name == "cifar-10-batches-py"]
        tar.extractall(dest, members=members, filter="data")
    root = dest / "cifar-10-batches-py"
    for name, expected in CIFAR10_MD5.items():
        if _md5(root / name) != expected:
            raise ChecksumError(f"{root / name} extracted from a verified archive fails its own checksum")
    return root



def load_cifar10(split: str = "train", n: int | None = None, seed: int = 0, download: bool = False,
                 root: str | Path | None = None, verify: bool = True) -> ImageDataset:
    """CIFAR-10 ``split`` ("train": 50,000, "test": 10,000), optionally a balanced subset of ``n``.

    The batches are found in ``root`` when given, else by the registry (``$LOCALBOOK_DATA/cifar-10-batches-py``,
    or a download when ``download=True``); each is checked against its published MD5 before it is read
    (``verify=False`` skips the check, for batches of your own in the same format; the restricted unpickler is
    always used)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if root is None:
        root = locate("cifar-10", download=download)
    root = Path(root)
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise DataUnavailableError(f"{root} lacks {', '.join(missing)}: point root (or $LOCALBOOK_DATA) at the "
                                   "extracted cifar-10-batches-py folder, or pass download=True")
    xs, ys = [], []
    for name in files:
        batch = read_cifar10_batch(root / name, verify=verify)
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    images, labels = np.concatenate(xs), np.concatenate(ys)
    idx = balanced_subset(labels, n, seed)
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0)
    return ImageDataset(x, torch.from_numpy(labels[idx]), CIFAR10_CLASSES, f"CIFAR-10 {split}")


def load_images(dataset: str, split: str = "train", n: int | None = None, seed: int = 0,
                download: bool = False, **options) -> ImageDataset:
    """Dispatch on the dataset name: ``"fashion-mnist"`` or ``"cifar-10"``; ``options`` go to the loader
    (e.g. ``root=`` and ``verify=`` for :func:`load_cifar10`)."""
    loaders = {"fashion-mnist": load_fashion_mnist, "cifar-10": load_cifar10}
    if dataset not in loaders:
        raise ValueError(f"dataset must be one of {sorted(loaders)}, got {dataset!r}")
    return loaders[dataset](split=split, n=n, seed=seed, download=download, **options)


def load_splits(dataset: str, n_train: int | None, n_val: int, n_test: int | None, seed: int = 0,
                download: bool = False, **options) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
    """(training, validation, test) sets: ``n_train + n_val`` class-balanced training images (all of them when
    ``n_train`` is None), of which ``n_val`` are held out for validation, and ``n_test`` test images (all when
    None). Every model of a chapter is trained on the first, monitored on the second and tested on the third."""
    n_total = None if n_train is None else n_train + n_val
    full = load_images(dataset, "train", n=n_total, seed=seed, download=download, **options)
    fit, val = full.split(n_val, seed=seed)
    test = load_images(dataset, "test", n=n_test, seed=seed, download=download, **options)
    return fit, val, test
