"""The patch k-nearest-neighbour classifier of thesis chapter 5 (Thiry, Arbel, Belilovsky and Oyallon, ICLR 2021).

The pipeline of thesis fig. 5.1:

1. **whitening** from the mean and covariance of the training patches
   (:class:`localbook.images.whitening.PatchWhitening`);
2. a **dictionary** of ``|D|`` patches sampled uniformly from the training images, augmented with ``-D``;
3. the **K-nearest-neighbour binary encoding** of every patch, summed over windows
   (:class:`localbook.images.knn_encoding.KNNPatchEncoder`);
4. batch norm and a factorised linear (or one-hidden-layer) convolutional classifier (section 5.3),
   :class:`PatchClassifier`, trained by the shared SGD loop :func:`localbook.images.training.train_classifier`
   with the thesis' recipe (:data:`~localbook.images.training.PATCH_KNN_RECIPE`).

:func:`run_patch_knn` runs it for one or several seeds (each seed draws its own dictionary, initialisation and
batch order: the error bar covers the method's randomness), with a validation set monitored every epoch.

Input normalisation (a decision of this book): images enter the encoder as raw ``[0, 1]`` pixels, the values
the whitening statistics are computed from. The original code computes the whitening and the dictionary
from raw ``[0, 1]`` patches but convolves per-channel *normalised* images, so its dictionary and its input
live in slightly different spaces, and its ``-D`` half is ``-d`` around the origin rather than around the
patch mean. Here everything happens between whitened, centred patches ``W (p - mu)``: the encoding is exactly
the k-nearest-neighbour search of eq. 5.2, which the tests check against a brute-force search.

No data augmentation: the codes are computed once per image and kept (the thesis re-encodes randomly cropped
and flipped images at every epoch, which a CPU cannot afford).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from localbook.images.knn_encoding import KNNPatchEncoder, encode_dataset
from localbook.images.training import PATCH_KNN_RECIPE, History, TrainConfig, train_classifier
from localbook.images.whitening import PatchWhitening, _device, gaussian_noise_dictionary, sample_patches

__all__ = ["PatchClassifier", "PatchKNNConfig", "PatchKNNResult", "ABLATIONS", "run_patch_knn", "reclassify",
           "run_variants", "run_sweeps"]


class PatchClassifier(nn.Module):
    """Classifier on ``Phi``: batch norm, ``k2 x k2`` conv to ``bottleneck`` channels, optional ReLU (the
    "1-hidden layer" variant), ``k3 x k3`` conv to the classes, global average pooling (thesis section 5.3).

    The two convolutions factorise a linear classifier (no ReLU): fewer parameters and a translation
    structure, which the thesis found to reduce over-fitting. Input (B, C, H', W') with ``H', W' >= k3``
    (any dtype: cast to float32); output logits (B, n_classes).
    """

    def __init__(self, in_channels: int, n_classes: int, bottleneck: int = 128, k2: int = 1, k3: int = 6,
                 hidden: bool = False):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.reduce = nn.Conv2d(in_channels, bottleneck, k2, padding=k2 // 2)
        self.hidden = hidden
        self.head = nn.Conv2d(bottleneck, n_classes, k3)
        self.k3 = k3

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        if min(phi.shape[-2:]) < self.k3:
            raise ValueError(f"feature maps {tuple(phi.shape[-2:])} are smaller than k3={self.k3}: use a smaller "
                             "k3, or a smaller pooling stride")
        z = self.reduce(self.norm(phi.float()))
        if self.hidden:
            z = F.relu(z)
        return self.head(z).mean(dim=(2, 3))


#: The ablations of thesis table 5.3 and section 5.3.1: one ingredient changed each.
ABLATIONS = {"noise dictionary": {"dictionary": "noise"}, "no whitening": {"whitening": "none"},
             "soft assignment": {"assignment": "soft"}}

_ENCODING_FIELDS = ("n_patches", "patch_size", "k_fraction", "reg", "whitening", "dictionary", "assignment",
                    "pool_size", "pool_stride")


@dataclass(frozen=True)
class PatchKNNConfig:
    """Hyper-parameters of the patch k-NN pipeline; the defaults are the thesis' CIFAR-10 linear setting
    (section 5.3.1: P = 6, lambda = 1e-3, K = 0.4 |D|, k1 = 5, s1 = 3, k2 = 1, c2 = 128, k3 = 6, 175 epochs,
    learning rate 0.003 decayed at epochs 100 and 150) with |D| = 2,048.
    """

    n_patches: int = 2048            # |D| before the -D augmentation
    patch_size: int = 6              # P
    k_fraction: float = 0.4          # K / |D|
    reg: float = 1e-3                # whitening regularisation lambda (the author's code: epsilon)
    whitening: str = "zca"           # "zca", "pca" or "none" (ablation)
    dictionary: str = "patches"      # "patches" or "noise" (sanity check, table 5.3)
    assignment: str = "hard"         # "hard" (eq. 5.2) or "soft" (sigmoid)
    pool_size: int = 5               # k1
    pool_stride: int = 3             # s1
    bottleneck: int = 128            # c2
    k2: int = 1
    k3: int = 6
    hidden: bool = False             # ReLU between the two convolutions (1-hidden-layer classifier)
    train: TrainConfig = PATCH_KNN_RECIPE

    def __post_init__(self):
        if self.dictionary not in ("patches", "noise"):
            raise ValueError(f"dictionary must be 'patches' or 'noise', got {self.dictionary!r}")
        if not 0 < self.k_fraction < 1:
            raise ValueError(f"k_fraction must be in (0, 1), got {self.k_fraction}")
        if not (isinstance(self.n_patches, (int, np.integer)) and self.n_patches >= 2):
            raise ValueError(f"n_patches (|D|) must be an integer >= 2, got {self.n_patches!r}")

    @property
    def n_neighbors(self) -> int:
        """K = round(k_fraction |D|), within [1, |D| - 1]."""
        return min(max(1, round(self.k_fraction * self.n_patches)), self.n_patches - 1)

    def with_(self, **changes) -> PatchKNNConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def same_encoding(self, other: PatchKNNConfig) -> bool:
        """True when ``other`` encodes images exactly as this one (it may differ in its classifier)."""
        return all(getattr(self, f) == getattr(other, f) for f in _ENCODING_FIELDS)


@dataclass
class PatchKNNResult:
    """What :func:`run_patch_knn` returns, one entry per seed in each list: the training histories (each with
    its validation curve and final test accuracy), and the fitted parts of the first seed. ``features``, when
    kept, holds per seed a dict ``{"train" | "val" | "test": (codes, labels)}`` for :func:`reclassify`."""

    config: PatchKNNConfig
    seeds: tuple[int, ...]
    histories: list[History] = field(repr=False)
    whitening: PatchWhitening = field(repr=False)
    dictionary: torch.Tensor = field(repr=False)
    encoder: KNNPatchEncoder = field(repr=False)
    classifier: PatchClassifier = field(repr=False)
    encode_seconds: float = 0.0
    features: list[dict] | None = field(default=None, repr=False)

    @property
    def test_accuracies(self) -> np.ndarray:
        return np.array([h.final["top1"] for h in self.histories])

    @property
    def train_accuracies(self) -> np.ndarray:
        """Training accuracy of the last epoch, measured on the fly in training mode (as the thesis' code)."""
        return np.array([h.final["train_top1"] for h in self.histories])

    @property
    def test_accuracy(self) -> float:
        """Mean test accuracy over the seeds."""
        return float(self.test_accuracies.mean())

    @property
    def train_accuracy(self) -> float:
        return float(self.train_accuracies.mean())

    @property
    def test_std(self) -> float:
        """Standard deviation of the test accuracy over the seeds (0 for one seed)."""
        acc = self.test_accuracies
        return float(acc.std(ddof=1)) if len(acc) > 1 else 0.0


def _xy(data, name: str):
    if data is None:
        return None
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return tuple(data)
    raise TypeError(f"{name} must be an ImageDataset or a tuple (images, labels), got {type(data).__name__}")


def _train_classifier_on(features: dict, n_classes: int, config: PatchKNNConfig, seed: int, device,
                         progress) -> tuple[PatchClassifier, History]:
    torch.manual_seed(seed)
    f_train = features["train"][0]
    model = PatchClassifier(f_train.shape[1], n_classes, config.bottleneck, config.k2, config.k3, config.hidden)
    hist = train_classifier(model, features["train"], config.train.with_(seed=seed), val=features.get("val"),
                            test=features.get("test"), device=device, progress=progress)
    return model, hist


def _code_store(storage, name: str, shape: tuple, dtype: torch.dtype):
    """A preallocated tensor for codes: None (in memory, allocated by encode_dataset) or a file-backed one."""
    if storage is None or storage == "memory":
        return None
    import os
    import tempfile

    if storage == "disk":
        from localbook.data.cache import default_cache

        folder = default_cache().root / "patch-knn-codes"
    else:
        folder = Path(storage)
    folder.mkdir(parents=True, exist_ok=True)
    np_dtype = {torch.uint8: np.uint8, torch.float16: np.float16}[dtype]
    fd, path = tempfile.mkstemp(dir=folder, prefix=f"{name}-", suffix=".codes")
    os.close(fd)
    array = np.memmap(path, dtype=np_dtype, mode="w+", shape=shape)
    os.unlink(path)      # the mapping keeps the data; the disk space is freed when the tensor is released
    return torch.from_numpy(array)


def run_patch_knn(train, test, config: PatchKNNConfig = PatchKNNConfig(), *, val=None, seeds=(0,), device=None,
                  progress: bool = False, whitening: PatchWhitening | None = None,
                  keep_features: bool = False, storage: str | Path | None = None) -> PatchKNNResult:
    """The whole pipeline of thesis fig. 5.1 on images (N, C, H, W) in [0, 1], for each seed in ``seeds``.

    ``train`` / ``val`` / ``test``: :class:`~localbook.data.images.ImageDataset` or (images, labels). Fits the
    whitening on every training patch (or reuses ``whitening``, fitted for the same P, method and reg), then
    per seed: samples the dictionary (or noise), encodes the images, trains the classifier (validation
    accuracy after every epoch, test accuracy at the end).

    ``storage``: ``None`` or ``"memory"``, or a folder where the codes are kept in memory-mapped temporary files
    (unlinked at once, their space freed when the result is garbage-collected): ``"disk"`` for
    ``$LOCALBOOK_CACHE/patch-knn-codes``. All of Fashion-MNIST at |D| = 2,048 is 14 GB of codes (one byte per
    window sum); the training reads its random batches from the files.
    """
    import time

    x_train, y_train = _xy(train, "train")
    sets = {"train": (x_train, y_train), "val": _xy(val, "val"), "test": _xy(test, "test")}
    sets = {k: v for k, v in sets.items() if v is not None}
    dev = _device(device) or x_train.device
    if whitening is None:
        whitening = PatchWhitening(config.reg, config.whitening).fit_images(x_train, config.patch_size, device=dev)
    elif (whitening.reg, whitening.method, whitening.patch_shape_[-1]) != (config.reg, config.whitening,
                                                                          config.patch_size):
        raise ValueError("the whitening passed does not match the config's reg, whitening method and patch_size")
    n_classes = int(max(int(y.max()) for _, y in sets.values())) + 1
    histories, kept, first = [], [], None
    encode_seconds = 0.0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        if config.dictionary == "patches":
            dictionary = sample_patches(x_train, config.n_patches, config.patch_size, rng, device=dev, distinct=True)
        else:
            dictionary = gaussian_noise_dictionary(config.n_patches, whitening, rng, device=dev)
        encoder = KNNPatchEncoder(dictionary, whitening, config.n_neighbors, config.assignment, negatives=True,
                                  pool_size=config.pool_size, pool_stride=config.pool_stride)
        start = time.perf_counter()
        features = {}
        for name, (x, y) in sets.items():
            h = (x.shape[-2] - config.patch_size + 1 - config.pool_size) // config.pool_stride + 1
            w = (x.shape[-1] - config.patch_size + 1 - config.pool_size) // config.pool_stride + 1
            dtype = torch.uint8 if config.assignment == "hard" and config.pool_size ** 2 < 256 else torch.float16
            out = _code_store(storage, f"{name}-seed{seed}", (len(x), encoder.out_channels, h, w), dtype)
            features[name] = (encode_dataset(encoder, x, device=dev, out_dtype=dtype, out=out, progress=progress),
                              y.to(dev))
        encode_seconds += time.perf_counter() - start
        model, hist = _train_classifier_on(features, n_classes, config, seed, dev, progress)
        histories.append(hist)
        if first is None:
            first = (dictionary, encoder, model)
        if keep_features:
            kept.append(features)
    return PatchKNNResult(config, tuple(seeds), histories, whitening, *first, encode_seconds / len(seeds),
                          kept if keep_features else None)


def reclassify(result: PatchKNNResult, config: PatchKNNConfig, device=None, progress: bool = False) -> PatchKNNResult:
    """Train another classifier (``config``'s bottleneck, k2, k3, hidden and training recipe) on the codes kept
    by ``run_patch_knn(..., keep_features=True)``, one per seed, with the same seeds: e.g. the one-hidden-layer
    variant on the same codes as the linear one. ``config`` must encode images as ``result.config`` does."""
    if result.features is None:
        raise ValueError("the result kept no features: run run_patch_knn(..., keep_features=True) first")
    if not result.config.same_encoding(config):
        changed = [f for f in _ENCODING_FIELDS if getattr(result.config, f) != getattr(config, f)]
        raise ValueError(f"config changes the encoding ({', '.join(changed)}): run run_patch_knn with it instead")
    n_classes = int(max(int(y.max()) for feats in result.features for _, y in feats.values())) + 1
    histories, first = [], None
    for seed, features in zip(result.seeds, result.features):
        dev = _device(device) or features["train"][0].device
        model, hist = _train_classifier_on(features, n_classes, config, seed, dev, progress)
        histories.append(hist)
        first = first or model
    return replace(result, config=config, histories=histories, classifier=first)


def run_variants(train, test, base: PatchKNNConfig, changes, *, val=None, seeds=(0,), device=None,
                 progress: bool = False, whitening: PatchWhitening | None = None) -> dict[str, PatchKNNResult]:
    """:func:`run_patch_knn` for each ``{name: {field: value, ...}}`` of ``changes`` applied to ``base`` (the
    ablations of thesis table 5.3 and section 5.3.1: a noise dictionary, no whitening, soft assignment...).
    ``whitening`` (fitted for ``base``) is reused by every variant that whitens the same way."""
    out = {}
    for name, change in changes.items():
        cfg = replace(base, **change)
        same = whitening is not None and (cfg.reg, cfg.whitening, cfg.patch_size) == (base.reg, base.whitening,
                                                                                      base.patch_size)
        out[name] = run_patch_knn(train, test, cfg, val=val, seeds=seeds, device=device, progress=progress,
                                  whitening=whitening if same else None)
    return out


def run_sweeps(train, test, base_result: PatchKNNResult, sweeps, *, val=None, seeds=(0,), device=None,
               progress: bool = False) -> dict[str, dict]:
    """One hyper-parameter at a time around ``base_result.config`` (thesis fig. 5.3): ``{field: [values]}`` ->
    ``{field: {value: PatchKNNResult}}``, each sweep including the base value (``base_result`` itself).
    Fields with no values are left out."""
    base = base_result.config
    out = {}
    for name, values in sweeps.items():
        if not values:
            continue
        changes = {v: {name: v} for v in values if v != getattr(base, name)}
        runs = run_variants(train, test, base, changes, val=val, seeds=seeds, device=device, progress=progress,
                            whitening=base_result.whitening)
        out[name] = {getattr(base, name): base_result, **runs}
    return out
