"""Image classification datasets as torch tensors ``(N, C, H, W)`` in ``[0, 1]`` with int64 labels.

Fashion-MNIST is read from the IDX files of Debian's ``dataset-fashion-mnist`` (or ``$LOCALBOOK_DATA`` or a
torchvision download); CIFAR-10 from its python pickle batches. Subsets are taken class-balanced and seeded,
so that a quick-scale run sees every class.
"""
from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from localbook.data.registry import locate

__all__ = ["ImageDataset", "load_fashion_mnist", "load_cifar10", "load_images", "balanced_subset",
           "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES"]

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

    def to(self, device) -> "ImageDataset":
        return ImageDataset(self.x.to(device), self.y.to(device), self.classes, self.name)

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


def load_cifar10(split: str = "train", n: int | None = None, seed: int = 0, download: bool = False) -> ImageDataset:
    """CIFAR-10 ``split`` ("train": 50,000, "test": 10,000), optionally a balanced subset of ``n``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = locate("cifar-10", download=download)
    files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in files:
        with open(root / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    images, labels = np.concatenate(xs), np.concatenate(ys)
    idx = balanced_subset(labels, n, seed)
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0)
    return ImageDataset(x, torch.from_numpy(labels[idx]), CIFAR10_CLASSES, f"CIFAR-10 {split}")


def load_images(dataset: str, split: str = "train", n: int | None = None, seed: int = 0,
                download: bool = False) -> ImageDataset:
    """Dispatch on the dataset name: ``"fashion-mnist"`` or ``"cifar-10"``."""
    loaders = {"fashion-mnist": load_fashion_mnist, "cifar-10": load_cifar10}
    if dataset not in loaders:
        raise ValueError(f"dataset must be one of {sorted(loaders)}, got {dataset!r}")
    return loaders[dataset](split=split, n=n, seed=seed, download=download)
