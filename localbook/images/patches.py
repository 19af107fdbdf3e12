"""Whitened-patch k-nearest-neighbour encoding and its classifier (thesis ch. 5 and app. B).

The pipeline of thesis fig. 5.1 (Thiry, Arbel, Belilovsky and Oyallon, ICLR 2021):

1. **whitening** from the mean ``mu`` and covariance ``Sigma`` of the training patches,
   ``W = (Sigma + lambda I)^(-1/2)`` (thesis section 5.2), :class:`PatchWhitening`;
2. a **dictionary** ``D`` of ``|D|`` patches sampled uniformly from the training images
   (:func:`sample_patches`), augmented with ``-D``;
3. the **K-nearest-neighbour binary encoding** of every patch of an image in ``D`` (thesis eq. 5.2), computed
   as one convolution followed by a channel-wise threshold (app. B.2), :class:`KNNPatchEncoder`;
4. **average pooling** (eq. 5.4), batch norm and a factorised linear (or 1-hidden-layer) convolutional
   classifier (section 5.3), :class:`PatchClassifier`, trained by :func:`train_classifier`.

Input normalisation (a decision of this book): images enter the encoder as raw ``[0, 1]`` pixels, the values
the whitening statistics are computed from. The original code computes the whitening and the dictionary
from raw ``[0, 1]`` patches but convolves per-channel *normalised* images, so its dictionary and its input
live in slightly different spaces, and its ``-D`` half is ``-d`` around the origin rather than around the
patch mean. Here everything happens between whitened, centred patches ``W (p - mu)``: the patch mean enters
the convolution's bias, and the negative atoms are ``-W (d - mu)``. The encoding is then exactly the
k-nearest-neighbour search of eq. 5.2, which the tests check against a brute-force search
(:func:`bruteforce_knn_encoding`).

Images are tensors ``(N, C, H, W)`` in ``[0, 1]``; patches are flattened ``(n, C * P * P)`` in the
channel-major order of :func:`torch.nn.functional.unfold`, or ``(n, C, P, P)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from localbook.checks import check_images

__all__ = ["extract_patches", "sample_patches", "gaussian_noise_dictionary", "PatchWhitening", "KNNPatchEncoder",
           "bruteforce_knn_encoding", "encode_dataset", "PatchClassifier", "train_classifier", "accuracy",
           "knn_predict", "PatchKNNConfig", "PatchKNNResult", "classify_features", "run_patch_knn", "tile_patches"]


def _device(device) -> torch.device | None:
    return None if device is None else torch.device(device)


def _check_images(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{name} must be a tensor of images (N, C, H, W), got {shape}; "
                         "add a channel axis with x.unsqueeze(1) for grey-scale images")
    check_images(x, who=name)  # uint8 or 0-255 pixels were encoded silently


def _check_patch_size(x: torch.Tensor, patch_size: int) -> None:
    if not isinstance(patch_size, (int, np.integer)) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive integer, got {patch_size!r}")
    if patch_size > min(x.shape[-2:]):
        raise ValueError(f"patch_size={patch_size} exceeds the image size {tuple(x.shape[-2:])}; "
                         "choose patch_size <= min(H, W)")


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def extract_patches(x: torch.Tensor, patch_size: int, stride: int = 1) -> torch.Tensor:
    """All ``patch_size x patch_size`` patches of images ``x`` (N, C, H, W), flattened: (N, L, C * P * P).

    ``L = ((H - P) // stride + 1) * ((W - P) // stride + 1)``; with ``stride=1`` this is the set
    ``P_x`` of thesis section 5.2, ``|I| = (N - P + 1)^2`` patches per image. Stays on ``x``'s device.
    """
    _check_images(x)
    _check_patch_size(x, patch_size)
    return F.unfold(x, patch_size, stride=stride).transpose(1, 2)


def sample_patches(x: torch.Tensor, n_patches: int, patch_size: int, rng: np.random.Generator | int | None = 0,
                   device=None, distinct: bool = False) -> torch.Tensor:
    """``n_patches`` patches (n, C, P, P) drawn uniformly over all (image, position) pairs of ``x``.

    The dictionary ``D`` of thesis section 5.2 ("uniformly sampling patches from images over the whole
    training set"). The (image, position) pairs are distinct (drawn without replacement, in O(n) memory),
    but two positions may still hold the same pixels (uniform backgrounds). With ``distinct=True`` the patches
    are also distinct in content: repeated patches are dropped in favour of further draws (a dictionary
    should: identical atoms tie in every k-NN search, and Fashion-MNIST's black background would fill a
    third of it). ``rng`` is a NumPy ``Generator`` or a seed; the result is on ``device``
    (default: ``x``'s device).
    """
    if distinct:
        return _sample_distinct_patches(x, n_patches, patch_size, _rng(rng), device)
    _check_images(x)
    _check_patch_size(x, patch_size)
    if not isinstance(n_patches, (int, np.integer)) or n_patches < 1:
        raise ValueError(f"n_patches must be a positive integer, got {n_patches!r}")
    gen = _rng(rng)
    n, c, h, w = x.shape
    dev = _device(device) or x.device
    n_rows, n_cols = h - patch_size + 1, w - patch_size + 1
    if n_patches > n * n_rows * n_cols:
        raise ValueError(f"n_patches={n_patches} exceeds the {n * n_rows * n_cols} patch positions of the images")
    ids = torch.as_tensor(gen.choice(n * n_rows * n_cols, size=n_patches, replace=False), device=x.device)
    img, row, col = ids // (n_rows * n_cols), ids // n_cols % n_rows, ids % n_cols
    offs = torch.arange(patch_size, device=x.device)
    rows = (row[:, None] + offs)[:, None, :, None]          # (n, 1, P, 1)
    cols = (col[:, None] + offs)[:, None, None, :]          # (n, 1, 1, P)
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return x[img[:, None, None, None], chans, rows, cols].to(dev)


def _sample_distinct_patches(x, n_patches, patch_size, gen, device) -> torch.Tensor:
    total = len(x) * (x.shape[-2] - patch_size + 1) * (x.shape[-1] - patch_size + 1)
    m = min(total, 2 * n_patches)
    while True:
        cand = sample_patches(x, m, patch_size, gen, device)
        flat = cand.reshape(m, -1)
        uniq, inverse = torch.unique(flat, dim=0, return_inverse=True)
        order = torch.arange(m, device=flat.device)
        first = torch.full((len(uniq),), m, device=flat.device).scatter_reduce(0, inverse, order, "amin")
        if len(first) >= n_patches:
            return cand[first.sort().values[:n_patches]]      # first occurrences, in drawing order
        if m == total:
            raise ValueError(f"the images hold only {len(first)} distinct {patch_size} x {patch_size} patches, "
                             f"fewer than n_patches={n_patches}")
        m = min(total, 2 * m)


class PatchWhitening:
    """Affine whitening of image patches: ``w(p) = W (p - mu)`` (thesis section 5.2 and app. B.1).

    ``method="zca"``: ``W = V (Lambda + reg)^(-1/2) V^T`` (symmetric, ``= (Sigma + reg I)^(-1/2)``);
    ``method="pca"``: ``W = (Lambda + reg)^(-1/2) V^T``; ``method="none"``: ``W = I`` (the no-whitening
    ablation; the mean is still removed, which changes no distance). ``Sigma = V Lambda V^T`` is the
    covariance of the patches (pixel values in ``[0, 1]``). Any two whitening operators differ by an
    orthogonal matrix, so ``||w(p) - w(q)||`` is the regularised Mahalanobis distance
    ``sqrt((p - q)^T (Sigma + reg I)^(-1) (p - q))`` for both ``zca`` and ``pca`` (app. B.1).

    Learned state (scikit-learn style): ``mean_`` (D,), ``covariance_`` (D, D), ``eigenvalues_`` (D,)
    in decreasing order, ``eigenvectors_`` (D, D) as columns, ``operator_`` (D, D) such that
    ``transform(p) = (p - mean_) @ operator_.T``, and ``patch_shape_`` (C, P, P) when known. Statistics
    are accumulated in float64 on the device of the data.
    """

    METHODS = ("zca", "pca", "none")

    def __init__(self, reg: float = 1e-3, method: str = "zca"):
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got {method!r}")
        if not (isinstance(reg, (int, float)) and math.isfinite(reg) and reg >= 0):
            raise ValueError(f"reg (the whitening regularisation lambda) must be a finite number >= 0, got {reg!r}")
        if method != "none" and reg == 0:
            raise ValueError("reg=0 leaves W undefined when the patch covariance is singular (constant "
                             "backgrounds make it so); use a small positive reg such as 1e-3")
        self.reg, self.method = float(reg), method
        self.patch_shape_: tuple[int, int, int] | None = None

    # --- fitting ---------------------------------------------------------------------------------------
    def fit(self, patches: torch.Tensor) -> "PatchWhitening":
        """Estimate ``mu`` and ``Sigma`` from patches (n, D) or (n, C, P, P)."""
        if patches.ndim == 4:
            self.patch_shape_ = tuple(patches.shape[1:])
        elif patches.ndim != 2:
            raise ValueError(f"patches must be (n, D) or (n, C, P, P), got {tuple(patches.shape)}")
        flat = patches.reshape(len(patches), -1).double()
        if len(flat) < 2:
            raise ValueError("need at least two patches to estimate a covariance")
        mean = flat.mean(0)
        centred = flat - mean
        return self._set_statistics(mean, centred.T @ centred / len(flat))

    def fit_images(self, x: torch.Tensor, patch_size: int, batch_size: int = 256, device=None,
                   progress: bool = False) -> "PatchWhitening":
        """Estimate ``mu`` and ``Sigma`` over *every* patch (stride 1) of the images ``x`` (N, C, H, W).

        Accumulates first and second moments in float64 over batches of images, so memory stays at one
        batch of unfolded patches. Runs on ``device`` (default: ``x``'s device).
        """
        _check_images(x)
        _check_patch_size(x, patch_size)
        dev = _device(device) or x.device
        d = x.shape[1] * patch_size ** 2
        total = torch.zeros(d, dtype=torch.float64, device=dev)
        second = torch.zeros(d, d, dtype=torch.float64, device=dev)
        count = 0
        for start in tqdm(range(0, len(x), batch_size), desc="whitening statistics", disable=not progress,
                          leave=False):
            p = extract_patches(x[start:start + batch_size].to(dev), patch_size).reshape(-1, d).double()
            total += p.sum(0)
            second += p.T @ p
            count += len(p)
        mean = total / count
        cov = second / count - torch.outer(mean, mean)
        self.patch_shape_ = (x.shape[1], patch_size, patch_size)
        return self._set_statistics(mean, (cov + cov.T) / 2)

    def _set_statistics(self, mean: torch.Tensor, cov: torch.Tensor) -> "PatchWhitening":
        evals, evecs = torch.linalg.eigh(cov)
        evals, evecs = evals.flip(0).clamp_min(0.0), evecs.flip(1)       # decreasing order
        self.mean_, self.covariance_ = mean, cov
        self.eigenvalues_, self.eigenvectors_ = evals, evecs
        if self.method == "none":
            self.operator_ = torch.eye(len(mean), dtype=torch.float64, device=mean.device)
        else:
            scale = (evals + self.reg).rsqrt()
            pca = scale[:, None] * evecs.T
            self.operator_ = pca if self.method == "pca" else evecs @ pca
        return self

    # --- using it --------------------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "operator_"):
            raise RuntimeError("this PatchWhitening is not fitted yet: call fit(patches) or fit_images(x, P)")

    @property
    def dim(self) -> int:
        """The extrinsic dimension ``D = C * P * P`` of the patches."""
        self._fitted()
        return len(self.mean_)

    def transform(self, patches: torch.Tensor) -> torch.Tensor:
        """Whitened patches ``(p - mu) @ W^T``: (n, D) from (n, D) or (n, C, P, P), in the input's dtype."""
        self._fitted()
        flat = patches.reshape(len(patches), -1)
        if flat.shape[1] != self.dim:
            raise ValueError(f"patches have {flat.shape[1]} values each, the whitening was fitted on "
                             f"{self.dim}: use patches of the same size and number of channels")
        op = self.operator_.to(device=flat.device, dtype=flat.dtype)
        return (flat - self.mean_.to(device=flat.device, dtype=flat.dtype)) @ op.T

    def mahalanobis(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Regularised Mahalanobis distance ``sqrt((a-b)^T (Sigma + reg I)^(-1) (a-b))`` row by row (app. B.1).

        Computed with a linear solve, independently of :attr:`operator_`, so that it can check it.
        """
        self._fitted()
        diff = (a.reshape(len(a), -1) - b.reshape(len(b), -1)).double().to(self.mean_.device)
        prec = self.covariance_ + self.reg * torch.eye(self.dim, dtype=torch.float64, device=diff.device)
        return (diff * torch.linalg.solve(prec, diff.T).T).sum(1).sqrt()

    def whitened_spectrum(self) -> torch.Tensor:
        """Eigenvalues of the whitened patches' covariance, ``Lambda / (Lambda + reg)``, decreasing."""
        self._fitted()
        if self.method == "none":
            return self.eigenvalues_.clone()
        return self.eigenvalues_ / (self.eigenvalues_ + self.reg)


def gaussian_noise_dictionary(n_patches: int, whitening: PatchWhitening, rng: np.random.Generator | int | None = 0,
                              device=None) -> torch.Tensor:
    """``n_patches`` Gaussian white-noise "patches" (n, C, P, P): the sanity check of thesis table 5.3.

    Each pixel is ``mu_j + s * xi_j`` with ``xi ~ N(0, 1)`` independent, ``mu`` the mean patch and
    ``s^2 = trace(Sigma) / D`` the average pixel variance of the real patches, so the atoms have the
    images' mean and energy but no spatial structure.
    """
    whitening._fitted()
    if whitening.patch_shape_ is None:
        raise ValueError("the whitening does not know the patch shape: fit it with fit_images or with "
                         "patches of shape (n, C, P, P)")
    gen = _rng(rng)
    dev = _device(device) or whitening.mean_.device
    scale = float(torch.sqrt(torch.trace(whitening.covariance_) / whitening.dim))
    noise = torch.as_tensor(gen.standard_normal((n_patches, whitening.dim)), dtype=torch.float32, device=dev)
    atoms = whitening.mean_.float().to(dev) + scale * noise
    return atoms.reshape(n_patches, *whitening.patch_shape_)


def _kth_smallest(s: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th smallest value along dim 1, keepdim: the largest of the k smallest (or the smallest of the
    n - k + 1 largest, whichever set is smaller). Same value as ``kthvalue``; an unsorted ``topk`` is about
    1.5 times faster on CPU."""
    n = s.shape[1]
    if k <= n - k + 1:
        return s.topk(k, dim=1, largest=False, sorted=False).values.amax(dim=1, keepdim=True)
    return s.topk(n - k + 1, dim=1, largest=True, sorted=False).values.amin(dim=1, keepdim=True)


class KNNPatchEncoder(nn.Module):
    """The K-nearest-neighbour encoding ``phi`` of eq. 5.2 as a convolution (thesis app. B.2), then eq. 5.4.

    With ``w_d = W (d - mu)`` the whitened atoms, the squared whitened distance of a patch ``p`` is
    ``||W(p - mu) - w_d||^2 = ||W(p - mu)||^2 + 2 s_d(p)`` with the score
    ``s_d(p) = ||w_d||^2 / 2 - <W(p - mu), w_d>``. The first term of the distance does not depend on ``d``,
    so the ``K`` nearest atoms are the ``K`` smallest scores; they are set to 1 by thresholding at the
    ``(K+1)``-th smallest score. The ``-D`` half uses the scores ``||w_d||^2 - s_d(p)`` of the negated
    atoms ``-w_d``, from the same convolution, with its own ``K``.

    App. B.2 writes the scores as one convolution with the filters ``-W^T w_d`` and the bias
    ``||w_d||^2 / 2`` (+ ``<mu, W^T w_d>`` here, for the centring). This module computes the same linear map
    as two stacked convolutions: the whitening ``W (p - mu)`` as a ``P x P`` convolution with ``D = C P^2``
    output channels, then the atoms as a ``1 x 1`` convolution. The product is the filter ``-W^T w_d``, but
    the factorised form avoids the cancellations of the large entries of ``W^T W`` (up to ``1 / lambda``),
    which made about 0.1 % of single-precision codes differ from an exact search; its cost is ``D / |D|``
    more multiplications.

    ``assignment="soft"`` replaces the indicator ``1[||p-d|| <= tau]`` by the sigmoid
    ``1 / (1 + exp(||p-d|| - tau))`` of section 5.3.1 (``tau`` the K-th smallest whitened distance).

    ``forward`` returns ``Phi`` of eq. 5.4: sums of ``phi`` over ``pool_size^2`` windows with stride
    ``pool_stride``, shape (B, 2|D| or |D|, H', W'); ``encode`` returns ``phi`` itself,
    (B, 2|D| or |D|, H - P + 1, W - P + 1). Buffers are built in ``dtype`` (float64 for exact tests) and
    follow ``.to(...)``.
    """

    def __init__(self, dictionary: torch.Tensor, whitening: PatchWhitening, n_neighbors: int | None = None,
                 assignment: str = "hard", negatives: bool = True, pool_size: int = 5, pool_stride: int = 3,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        if dictionary.ndim != 4:
            raise ValueError(f"dictionary must be patches (n, C, P, P), got {tuple(dictionary.shape)}")
        if assignment not in ("hard", "soft"):
            raise ValueError(f"assignment must be 'hard' or 'soft', got {assignment!r}")
        n = len(dictionary)
        k = round(0.4 * n) if n_neighbors is None else n_neighbors
        if not isinstance(k, (int, np.integer)) or not 1 <= k < n:
            raise ValueError(f"n_neighbors (K) must be an integer in [1, |D| - 1] = [1, {n - 1}], got {k!r}; "
                             "the thesis uses K = 0.4 |D|")
        if pool_size < 1 or pool_stride < 1:
            raise ValueError(f"pool_size and pool_stride must be >= 1, got {pool_size}, {pool_stride}")
        whitening._fitted()
        c, p = dictionary.shape[1], dictionary.shape[-1]
        if c * p * p != whitening.dim:
            raise ValueError(f"dictionary patches have {c * p * p} values, the whitening was fitted on "
                             f"{whitening.dim}: fit it on patches of the same size and channels")
        op = whitening.operator_                                                      # W (D, D), float64
        wd = whitening.transform(dictionary.double().to(op.device))                   # (n, D) atoms w_d
        self.register_buffer("w_rows", op.reshape(-1, c, p, p).to(dtype))             # W as P x P filters
        self.register_buffer("w_bias", (-(op @ whitening.mean_)).to(dtype))           # -W mu
        self.register_buffer("atoms", (-wd)[:, :, None, None].to(dtype))             # -w_d as 1 x 1 filters
        self.register_buffer("half_sq_norm", (0.5 * (wd ** 2).sum(1)).to(dtype))     # ||w_d||^2 / 2
        self.n_atoms, self.n_neighbors, self.patch_size = n, int(k), p
        self.assignment, self.negatives = assignment, negatives
        self.pool_size, self.pool_stride = pool_size, pool_stride

    @property
    def out_channels(self) -> int:
        return 2 * self.n_atoms if self.negatives else self.n_atoms

    def extra_repr(self) -> str:
        return (f"|D|={self.n_atoms}, K={self.n_neighbors}, P={self.patch_size}, assignment={self.assignment}, "
                f"negatives={self.negatives}, pool={self.pool_size}/{self.pool_stride}")

    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """Whitened patches ``W (p - mu)`` at every position: (B, D, H - P + 1, W - P + 1)."""
        _check_images(x)
        if x.shape[1] != self.w_rows.shape[1]:
            raise ValueError(f"images have {x.shape[1]} channels, the dictionary {self.w_rows.shape[1]}")
        return F.conv2d(x.to(self.w_rows.dtype), self.w_rows, self.w_bias)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``s_d(p)`` (B, |D|, H - P + 1, W - P + 1) of every patch against every atom (app. B.2)."""
        return F.conv2d(self.whiten(x), self.atoms, self.half_sq_norm)

    def _assign(self, s: torch.Tensor, sq_norm_p: torch.Tensor | None) -> torch.Tensor:
        if self.assignment == "hard":
            # strict "<" the (K+1)-th smallest: exactly K ones unless atoms tie there (duplicate atoms), then
            # fewer; the original code's rule. Eq. 5.2's "<= the K-th" would give more at a tie.
            return (s < _kth_smallest(s, self.n_neighbors + 1)).to(s.dtype)
        dist = (sq_norm_p + 2 * s).clamp_min(0).sqrt()
        return torch.sigmoid(_kth_smallest(dist, self.n_neighbors) - dist)

    def _halves(self, x: torch.Tensor):
        """Yield ``phi`` for the ``D`` half, then for the ``-D`` half (one convolution for both)."""
        white = self.whiten(x)
        s = F.conv2d(white, self.atoms, self.half_sq_norm)
        sq_norm_p = white.square().sum(1, keepdim=True) if self.assignment == "soft" else None
        yield self._assign(s, sq_norm_p)
        if self.negatives:
            yield self._assign(2 * self.half_sq_norm[None, :, None, None] - s, sq_norm_p)   # atoms -w_d

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``phi(x)`` of eq. 5.2 (B, 2|D| or |D|, H - P + 1, W - P + 1): the ``D`` half first, then ``-D``."""
        return torch.cat(list(self._halves(x)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``Phi(x)`` of eq. 5.4: window sums of ``phi`` (B, 2|D| or |D|, H', W'), each half pooled as soon as
        it is computed so that only one full-resolution half is in memory at a time."""
        size = min(x.shape[-2:]) - self.patch_size + 1
        if size < self.pool_size:
            raise ValueError(f"the encoding map ({size} x {size}) is smaller than pool_size={self.pool_size}; "
                             "use a smaller pool_size or patch_size")
        return torch.cat([F.avg_pool2d(phi, self.pool_size, self.pool_stride) * self.pool_size ** 2
                          for phi in self._halves(x)], dim=1)


def bruteforce_knn_encoding(x: torch.Tensor, dictionary: torch.Tensor, whitening: PatchWhitening,
                            n_neighbors: int, negatives: bool = True) -> torch.Tensor:
    """Reference for :meth:`KNNPatchEncoder.encode`: explicit whitened patches, distances, top-K.

    Unfolds every patch, whitens patches and atoms, takes ``torch.cdist`` to ``W(d - mu)`` (and to
    ``-W(d - mu)``), marks the ``n_neighbors`` smallest per patch. Memory ``B * L * |D|``: for tests and
    benchmarks, not for datasets. Returns (B, 2|D| or |D|, H - P + 1, W - P + 1) in ``x``'s dtype.
    """
    _check_images(x)
    p = dictionary.shape[-1]
    b, _, h, w = x.shape
    patches = whitening.transform(extract_patches(x, p).reshape(-1, whitening.dim))      # (B L, D)
    atoms = whitening.transform(dictionary.to(x))                                        # (n, D)
    halves = [atoms, -atoms] if negatives else [atoms]
    out = []
    for a in halves:
        dist = torch.cdist(patches, a)
        idx = dist.topk(n_neighbors, dim=1, largest=False).indices
        out.append(torch.zeros_like(dist).scatter_(1, idx, 1.0))
    phi = torch.cat(out, dim=1)                                                          # (B L, n or 2n)
    return phi.reshape(b, h - p + 1, w - p + 1, -1).permute(0, 3, 1, 2).contiguous()


def encode_dataset(encoder: KNNPatchEncoder, x: torch.Tensor, batch_size: int = 128, device=None,
                   half: bool | None = None, out_dtype: torch.dtype = torch.float16, storage_device=None,
                   progress: bool = False) -> torch.Tensor:
    """``Phi(x)`` for a whole image set, in batches: (N, C_out, H', W') in ``out_dtype`` on ``storage_device``.

    ``half=None`` computes in float16 on CUDA and float32 elsewhere (the original code's choice). The window
    sums of binary codes are integers up to ``pool_size^2``, exact in float16, so ``out_dtype=float16``
    loses nothing for the hard assignment. ``storage_device`` defaults to ``device``; pass ``"cpu"`` when the
    features of a full-scale run do not fit on the GPU.
    """
    _check_images(x)
    dev = _device(device) or x.device
    store = _device(storage_device) or dev
    half = (dev.type == "cuda") if half is None else half
    enc = encoder.to(device=dev, dtype=torch.float16 if half else torch.float32)
    chunks = []
    with torch.no_grad():
        for start in tqdm(range(0, len(x), batch_size), desc="k-NN encoding", disable=not progress, leave=False):
            chunks.append(enc(x[start:start + batch_size].to(dev)).to(device=store, dtype=out_dtype))
    return torch.cat(chunks)


class PatchClassifier(nn.Module):
    """Classifier on ``Phi``: batch norm, ``k2 x k2`` conv to ``bottleneck`` channels, optional ReLU (the
    "1-hidden layer" variant), ``k3 x k3`` conv to the classes, global average pooling (thesis section 5.3).

    The two convolutions factorise a linear classifier (no ReLU): fewer parameters and a translation
    structure, which the thesis found to reduce over-fitting. Input (B, C, H', W') with ``H', W' >= k3``;
    output logits (B, n_classes).
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


def train_classifier(model: nn.Module, features: torch.Tensor, labels: torch.Tensor, epochs: int, lr: float,
                     batch_size: int = 128, momentum: float = 0.9, milestones: Sequence[float] = (100 / 175, 150 / 175),
                     seed: int = 0, device=None, progress: bool = False) -> list[dict]:
    """Mini-batch SGD with momentum, cross-entropy, no weight decay (thesis section 5.3).

    The learning rate is divided by 10 at the fractions ``milestones`` of the epochs (the thesis: epochs 100
    and 150 of 175). ``features`` (N, C, H', W') may be float16; batches are cast to float32 on ``device``.
    Returns the history, one dict per epoch: ``epoch``, ``loss`` (mean over batches), ``train_accuracy``
    (on the fly, in training mode).
    """
    if len(features) != len(labels):
        raise ValueError(f"{len(features)} feature maps but {len(labels)} labels")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    dev = _device(device) or features.device
    model.to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    steps = sorted({max(1, round(f * epochs)) for f in milestones if 0 < f < 1})
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=steps, gamma=0.1)
    gen = torch.Generator().manual_seed(seed)
    labels = labels.to(features.device)
    history = []
    for epoch in tqdm(range(epochs), desc="classifier", disable=not progress, leave=False):
        order = torch.randperm(len(labels), generator=gen).to(features.device)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = features[idx].to(dev, torch.float32), labels[idx].to(dev)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        sched.step()
        history.append({"epoch": epoch + 1, "loss": total_loss / len(labels), "train_accuracy": correct / len(labels)})
    return history


@torch.no_grad()
def accuracy(model: nn.Module, features: torch.Tensor, labels: torch.Tensor, batch_size: int = 512,
             device=None) -> float:
    """Fraction of correctly classified samples (model in evaluation mode)."""
    dev = _device(device) or features.device
    model.to(dev).eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        logits = model(features[start:start + batch_size].to(dev, torch.float32))
        correct += (logits.argmax(1).cpu() == labels[start:start + batch_size].cpu()).sum().item()
    return correct / len(labels)


@torch.no_grad()
def knn_predict(x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor, k: int = 1,
                batch_size: int = 1024, device=None) -> torch.Tensor:
    """Whole-image k-nearest-neighbour classification (Euclidean distance on raw pixels): the thesis'
    image-level baseline (58.3 % on CIFAR-10). Majority vote among the ``k`` nearest training images, ties
    going to the smaller class index. Batched ``torch.cdist`` + top-k so that it runs on the GPU at full
    scale (50,000 x 10,000 images); the tests compare it with scikit-learn's ``KNeighborsClassifier``.
    Returns the predicted labels (n_query,) on ``device``.
    """
    if not 1 <= k <= len(x_train):
        raise ValueError(f"k must be in [1, {len(x_train)}] (the number of training images), got {k}")
    dev = _device(device) or x_train.device
    ref = x_train.reshape(len(x_train), -1).to(dev, torch.float32)
    y = y_train.to(dev)
    n_classes = int(y.max()) + 1
    preds = []
    for start in range(0, len(x_query), batch_size):
        q = x_query[start:start + batch_size].reshape(-1, ref.shape[1]).to(dev, torch.float32)
        idx = torch.cdist(q, ref).topk(k, dim=1, largest=False).indices
        votes = F.one_hot(y[idx], n_classes).sum(1)
        preds.append(votes.argmax(1))
    return torch.cat(preds)


@dataclass(frozen=True)
class PatchKNNConfig:
    """Hyper-parameters of the patch k-NN pipeline; the defaults are the thesis' CIFAR-10 linear setting
    (section 5.3.1: P = 6, lambda = 1e-3, K = 0.4 |D|, k1 = 5, s1 = 3, k2 = 1, c2 = 128, k3 = 6, 175 epochs,
    learning rate 0.003 decayed at epochs 100 and 150) with |D| = 2,048.
    """

    n_patches: int = 2048            # |D| before the -D augmentation
    patch_size: int = 6              # P
    k_fraction: float = 0.4          # K / |D|
    reg: float = 1e-3                # whitening regularisation lambda
    whitening: str = "zca"           # "zca", "pca" or "none" (ablation)
    dictionary: str = "patches"      # "patches" or "noise" (sanity check, table 5.3)
    assignment: str = "hard"         # "hard" (eq. 5.2) or "soft" (sigmoid)
    pool_size: int = 5               # k1
    pool_stride: int = 3             # s1
    bottleneck: int = 128            # c2
    k2: int = 1
    k3: int = 6
    hidden: bool = False             # ReLU between the two convolutions (1-hidden-layer classifier)
    epochs: int = 175
    lr: float = 0.003
    batch_size: int = 128

    def __post_init__(self):
        if self.dictionary not in ("patches", "noise"):
            raise ValueError(f"dictionary must be 'patches' or 'noise', got {self.dictionary!r}")
        if not 0 < self.k_fraction < 1:
            raise ValueError(f"k_fraction must be in (0, 1), got {self.k_fraction}")

    @property
    def n_neighbors(self) -> int:
        return min(max(1, round(self.k_fraction * self.n_patches)), self.n_patches - 1)


@dataclass
class PatchKNNResult:
    """What :func:`run_patch_knn` returns: accuracies in [0, 1], the training history and the fitted parts;
    the encoded features ``features_train`` / ``features_test`` when asked to keep them."""

    config: PatchKNNConfig
    train_accuracy: float
    test_accuracy: float
    history: list = field(repr=False)
    whitening: PatchWhitening = field(repr=False)
    dictionary: torch.Tensor = field(repr=False)
    encoder: KNNPatchEncoder = field(repr=False)
    classifier: PatchClassifier = field(repr=False)
    features_train: torch.Tensor | None = field(default=None, repr=False)
    features_test: torch.Tensor | None = field(default=None, repr=False)


def classify_features(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor,
                      config: PatchKNNConfig, seed: int = 0, device=None, progress: bool = False):
    """Train a :class:`PatchClassifier` (``config``'s bottleneck, k2, k3, hidden, epochs, lr, batch size) on
    encoded features; return ``(model, history, train_accuracy, test_accuracy)``. Seeded by ``seed``."""
    dev = _device(device) or f_train.device
    torch.manual_seed(seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    model = PatchClassifier(f_train.shape[1], n_classes, config.bottleneck, config.k2, config.k3, config.hidden)
    history = train_classifier(model, f_train, y_train, config.epochs, config.lr, config.batch_size, seed=seed,
                               device=dev, progress=progress)
    return model, history, accuracy(model, f_train, y_train, device=dev), accuracy(model, f_test, y_test, device=dev)


def run_patch_knn(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                  config: PatchKNNConfig = PatchKNNConfig(), seed: int = 0, device=None, progress: bool = False,
                  whitening: PatchWhitening | None = None, keep_features: bool = False) -> PatchKNNResult:
    """The whole pipeline of thesis fig. 5.1 on images (N, C, H, W) in [0, 1]: fit the whitening on every
    training patch (or reuse ``whitening``, fitted for the same P, method and reg), sample the dictionary
    (or noise), encode train and test images, train the classifier, measure accuracies.

    No data augmentation: the features are computed once and kept (the thesis re-encodes randomly cropped
    and flipped images at every epoch). Seeded by ``seed``.
    """
    dev = _device(device) or x_train.device
    if whitening is None:
        whitening = PatchWhitening(config.reg, config.whitening).fit_images(x_train, config.patch_size, device=dev)
    elif (whitening.reg, whitening.method, whitening.patch_shape_[-1]) != (config.reg, config.whitening,
                                                                          config.patch_size):
        raise ValueError("the whitening passed does not match the config's reg, whitening method and patch_size")
    rng = np.random.default_rng(seed)
    if config.dictionary == "patches":
        dictionary = sample_patches(x_train, config.n_patches, config.patch_size, rng, device=dev, distinct=True)
    else:
        dictionary = gaussian_noise_dictionary(config.n_patches, whitening, rng, device=dev)
    encoder = KNNPatchEncoder(dictionary, whitening, config.n_neighbors, config.assignment, negatives=True,
                              pool_size=config.pool_size, pool_stride=config.pool_stride)
    f_train = encode_dataset(encoder, x_train, device=dev, progress=progress)
    f_test = encode_dataset(encoder, x_test, device=dev, progress=progress)
    model, history, acc_train, acc_test = classify_features(f_train, y_train, f_test, y_test, config, seed, dev,
                                                            progress)
    kept = (f_train, f_test) if keep_features else (None, None)
    return PatchKNNResult(config, acc_train, acc_test, history, whitening, dictionary, encoder, model, *kept)


def tile_patches(patches: torch.Tensor, n_cols: int = 16, pad: int = 1) -> np.ndarray:
    """Patches (n, C, P, P) as one image grid (rows, cols[, C]) in [0, 1] for ``imshow``, each patch
    contrast-stretched to its own min-max (as in thesis fig. 5.2). Background between patches is 1 (white).
    """
    if patches.ndim != 4:
        raise ValueError(f"patches must be (n, C, P, P), got {tuple(patches.shape)}")
    p = patches.detach().double().cpu()
    lo = p.amin(dim=(1, 2, 3), keepdim=True)
    hi = p.amax(dim=(1, 2, 3), keepdim=True)
    p = ((p - lo) / (hi - lo).clamp_min(1e-12)).numpy()
    n, c, s, _ = p.shape
    n_rows = -(-n // n_cols)
    cells = np.ones((n_rows * n_cols, c, s + pad, s + pad))
    cells[:n, :, :s, :s] = p                                     # each patch with a white border below/right
    grid = cells.reshape(n_rows, n_cols, c, s + pad, s + pad).transpose(2, 0, 3, 1, 4)
    grid = np.pad(grid.reshape(c, n_rows * (s + pad), n_cols * (s + pad)), ((0, 0), (pad, 0), (pad, 0)),
                  constant_values=1.0)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)
