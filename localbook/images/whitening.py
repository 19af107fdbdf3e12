"""Image patches and their whitening (thesis section 5.2 and app. B.1).

* :func:`extract_patches` -- every ``P x P`` patch of images (N, C, H, W), the set ``P_x`` of section 5.2;
* :func:`sample_patches` -- patches drawn uniformly over all (image, position) pairs: the dictionary ``D``;
* :class:`PatchWhitening` -- ``w(p) = W (p - mu)`` with ``W = (Sigma + lambda I)^(-1/2)``, from the mean ``mu``
  and covariance ``Sigma`` of the training patches: Euclidean distances between whitened patches are
  Mahalanobis distances (app. B.1);
* :func:`gaussian_noise_dictionary` -- white-noise atoms with the patches' mean and energy (table 5.3).

Images are tensors ``(N, C, H, W)`` in ``[0, 1]``; patches are flattened ``(n, C * P * P)`` in the
channel-major order of :func:`torch.nn.functional.unfold`, or ``(n, C, P, P)``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from localbook.checks import check_images

__all__ = ["extract_patches", "sample_patches", "PatchWhitening", "gaussian_noise_dictionary", "distance_agreement"]


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
    def fit(self, patches: torch.Tensor) -> PatchWhitening:
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
                   progress: bool = False) -> PatchWhitening:
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

    def _set_statistics(self, mean: torch.Tensor, cov: torch.Tensor) -> PatchWhitening:
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


def distance_agreement(x: torch.Tensor, patch_size: int, reg: float, n_pairs: int = 1000,
                       rng: np.random.Generator | int | None = 0, device=None) -> dict:
    """Thesis app. B.1 on real patches: ZCA and PCA whitening, fitted on every patch of ``x``, give the same
    distances, and both equal the regularised Mahalanobis distance computed by a linear solve.

    Returns the extrinsic dimension ``dim``, the largest and smallest covariance eigenvalues, and the largest
    differences (relative to the largest distance) between ZCA and Mahalanobis (``zca_vs_mahalanobis``) and
    between PCA and ZCA (``pca_vs_zca``) distances over ``n_pairs`` random pairs of patches; plus the fitted
    ZCA whitening (``zca``)."""
    zca = PatchWhitening(reg, "zca").fit_images(x, patch_size, device=device)
    pca = PatchWhitening(reg, "pca").fit_images(x, patch_size, device=device)
    pairs = sample_patches(x, 2 * n_pairs, patch_size, rng, device=device).double()
    a, b = pairs[:n_pairs], pairs[n_pairs:]
    d_zca = (zca.transform(a) - zca.transform(b)).norm(dim=1)
    d_pca = (pca.transform(a) - pca.transform(b)).norm(dim=1)
    d_mah = zca.mahalanobis(a, b)
    largest = float(d_mah.max())
    return {"dim": zca.dim, "largest_eigenvalue": float(zca.eigenvalues_[0]),
            "smallest_eigenvalue": float(zca.eigenvalues_[-1]),
            "zca_vs_mahalanobis": float((d_zca - d_mah).abs().max()) / largest,
            "pca_vs_zca": float((d_pca - d_zca).abs().max()) / largest, "zca": zca}
