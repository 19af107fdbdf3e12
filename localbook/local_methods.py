"""The curse of dimensionality and how a separable (local) target escapes it (thesis ch. 1.1-1.2).

Two regression experiments on ``[0, 1]^D`` with noiseless targets:

* a generic 1-Lipschitz target ``F(x) = min_j |x - c_j|`` (distance to a few random points: not separable, with
  kinks on the Voronoi boundaries) learned by nearest-neighbour regression. The distance from a test point to its
  nearest training point shrinks like ``n^(-1/D)``, so the error of any local average of a Lipschitz function
  decays at that rate: to halve the error one needs ``2^D`` times more samples (thesis eq. 1.1 context);
* a separable target ``F(x) = sum_k F_k(s^k)`` whose sub-variables ``s^k`` are blocks of ``D_k`` neighbouring
  coordinates (thesis eq. 1.1), each ``F_k`` of the kind above in dimension ``D_k``. An additive kernel
  ``k(x, x') = mean_k k_k(s^k, s'^k)`` matches the separation: its error decays at the ``D_k``-dimensional rate,
  while the same kernel ridge regression on the whole ``x`` degrades with ``D``.

Everything is torch on ``device=``. :class:`AdditiveKernelRidge` is written here because scikit-learn's
``KernelRidge`` has no additive kernel over coordinate blocks and runs on the CPU only; with a single block it
agrees with ``sklearn.kernel_ridge.KernelRidge`` on the same kernel matrix (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin

__all__ = [
    "DistanceToPoints", "SeparableTarget", "sample_uniform", "knn_predict", "AdditiveKernelRidge",
    "contiguous_blocks", "relative_rmse", "knn_learning_curve", "krr_learning_curve", "fit_power_law",
    "nearest_neighbour_distances", "curse_demo", "plot_curse_demo", "knn_curves", "samples_for_error", "curse_table",
    "linear_learning_curve", "separable_curves",
]


def _as_tensor(x, device=None, dtype=torch.float64) -> torch.Tensor:
    return torch.as_tensor(x, dtype=dtype, device=device)


@dataclass
class DistanceToPoints:
    """``F(x) = min_j |x - c_j|_2``: a 1-Lipschitz, non-separable target on ``[0, 1]^dim``.

    ``centers`` has shape ``(n_centers, dim)``. Call it on ``x`` of shape ``(n, dim)``; returns ``(n,)``.
    """

    centers: torch.Tensor

    @classmethod
    def random(cls, dim: int, n_centers: int = 8, seed: int = 0, device=None) -> "DistanceToPoints":
        if dim < 1 or n_centers < 1:
            raise ValueError(f"dim and n_centers must be >= 1, got dim={dim}, n_centers={n_centers}")
        g = torch.Generator().manual_seed(seed)
        return cls(torch.rand(n_centers, dim, generator=g, dtype=torch.float64).to(device))

    @property
    def dim(self) -> int:
        return self.centers.shape[1]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected x of shape (n, {self.dim}), got {tuple(x.shape)}")
        return torch.cdist(x, self.centers.to(x)).amin(dim=1)


def contiguous_blocks(dim: int, block_dim: int) -> list[list[int]]:
    """Split ``range(dim)`` into consecutive blocks of ``block_dim`` coordinates (the "local" sub-variables)."""
    if block_dim < 1 or dim % block_dim:
        raise ValueError(f"block_dim={block_dim} must be >= 1 and divide dim={dim}")
    return [list(range(k, k + block_dim)) for k in range(0, dim, block_dim)]


@dataclass
class SeparableTarget:
    """``F(x) = sum_k F_k(x[blocks[k]])`` with ``F_k`` a :class:`DistanceToPoints` in ``len(blocks[k])`` dims."""

    blocks: list[list[int]]
    parts: list[DistanceToPoints]

    @classmethod
    def random(cls, dim: int, block_dim: int, n_centers: int = 8, seed: int = 0, device=None) -> "SeparableTarget":
        blocks = contiguous_blocks(dim, block_dim)
        parts = [DistanceToPoints.random(block_dim, n_centers, seed=seed + 1000 * k, device=device)
                 for k in range(len(blocks))]
        return cls(blocks, parts)

    @property
    def dim(self) -> int:
        return sum(len(b) for b in self.blocks)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected x of shape (n, {self.dim}), got {tuple(x.shape)}")
        return sum(f(x[:, b]) for b, f in zip(self.blocks, self.parts))


def sample_uniform(n: int, dim: int, seed: int, device=None) -> torch.Tensor:
    """``n`` points uniform in ``[0, 1]^dim``, float64, seeded independently of the global RNG."""
    if n < 1 or dim < 1:
        raise ValueError(f"n and dim must be >= 1, got n={n}, dim={dim}")
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, dim, generator=g, dtype=torch.float64).to(device)


def knn_predict(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, k: int = 1,
                batch_size: int = 1024) -> torch.Tensor:
    """k-nearest-neighbour regression: the mean of ``y`` over the ``k`` nearest training points (Euclidean).

    On the CPU this calls scikit-learn's ``KNeighborsRegressor`` (its own choice of k-d tree, ball tree or brute
    force): measured 1.7-40x faster than a torch brute force for D = 2..64, n = 16,384 (``benchmarks/
    bench_local_methods.py``). On a GPU, brute force with ``torch.cdist`` and ``topk`` in test batches (memory
    ``batch_size * n_train``). Returns a tensor on the inputs' device, in ``y_train``'s dtype.
    """
    if not 1 <= k <= len(x_train):
        raise ValueError(f"k must be in [1, n_train={len(x_train)}], got {k}")
    if x_train.device.type == "cpu":
        from sklearn.neighbors import KNeighborsRegressor
        pred = KNeighborsRegressor(n_neighbors=k).fit(x_train.numpy(), y_train.numpy()).predict(x_test.numpy())
        return torch.as_tensor(pred, dtype=y_train.dtype)
    out = []
    for start in range(0, len(x_test), batch_size):
        d = torch.cdist(x_test[start:start + batch_size], x_train)
        idx = d.topk(k, dim=1, largest=False).indices
        out.append(y_train[idx].mean(dim=1))
    return torch.cat(out)


def nearest_neighbour_distances(x_train: torch.Tensor, x_test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each test point: the distance to its nearest training point, and the mean distance to all of them."""
    d = torch.cdist(x_test, x_train)
    return d.amin(dim=1), d.mean(dim=1)


def relative_rmse(y_pred: torch.Tensor, y_true: torch.Tensor) -> float:
    """Root-mean-square error divided by the standard deviation of ``y_true`` (1 = predicting the mean)."""
    return float(torch.sqrt(torch.mean((y_pred - y_true) ** 2)) / y_true.std())


class AdditiveKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with an additive Laplace kernel over coordinate blocks.

    ``k(x, x') = (1/K) sum_k exp(-|x[b_k] - x'[b_k]|_2 / length_scale_k)`` with ``length_scale_k =
    length_scale * sqrt(|b_k| / 6)`` (``sqrt(d/6)`` is the root-mean-square distance between uniform points of
    ``[0, 1]^d``). ``blocks=None`` is one block of all coordinates: the ordinary, global Laplace kernel.
    Solves ``(K + alpha n I) a = y`` by Cholesky in float64 on ``device``.
    """

    def __init__(self, blocks: Sequence[Sequence[int]] | None = None, length_scale: float = 1.0,
                 alpha: float = 1e-8, device: str | torch.device = "cpu"):
        self.blocks = blocks
        self.length_scale = length_scale
        self.alpha = alpha
        self.device = device

    def _blocks(self, dim: int) -> list[list[int]]:
        blocks = [list(range(dim))] if self.blocks is None else [list(b) for b in self.blocks]
        bad = [i for b in blocks for i in b if not 0 <= i < dim]
        if bad:
            raise ValueError(f"block indices {bad} are outside the {dim} input coordinates")
        return blocks

    def _kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        blocks = self._blocks(a.shape[1])
        k = torch.zeros(len(a), len(b), dtype=torch.float64, device=a.device)
        for block in blocks:  # a handful of blocks; each term is a batched cdist
            scale = self.length_scale * math.sqrt(len(block) / 6.0)
            k += torch.exp(-torch.cdist(a[:, block], b[:, block]) / scale)
        return k / len(blocks)

    def fit(self, X, y):
        if self.length_scale <= 0 or self.alpha < 0:
            raise ValueError(f"length_scale must be > 0 and alpha >= 0, got {self.length_scale}, {self.alpha}")
        x = _as_tensor(X, self.device)
        y = _as_tensor(y, self.device)
        if x.ndim != 2 or y.shape != (len(x),):
            raise ValueError(f"expected X (n, d) and y (n,), got {tuple(x.shape)} and {tuple(y.shape)}")
        k = self._kernel(x, x)
        k.diagonal().add_(self.alpha * len(x))
        chol = torch.linalg.cholesky(k)
        self.dual_coef_ = torch.cholesky_solve(y[:, None], chol)[:, 0]
        self.X_fit_ = x
        self.n_features_in_ = x.shape[1]
        return self

    def predict(self, X) -> torch.Tensor:
        x = _as_tensor(X, self.device)
        return self._kernel(x, self.X_fit_) @ self.dual_coef_


def knn_learning_curve(target: Callable[[torch.Tensor], torch.Tensor], dim: int, n_train: Sequence[int],
                       n_test: int = 2000, k: int = 1, seed: int = 0, device=None) -> np.ndarray:
    """Relative RMSE of k-NN regression of ``target`` for each training size (nested samples, one test set)."""
    x_all = sample_uniform(max(n_train), dim, seed, device)
    x_test = sample_uniform(n_test, dim, seed + 1, device)
    y_all, y_test = target(x_all), target(x_test)
    return np.array([relative_rmse(knn_predict(x_all[:n], y_all[:n], x_test, k=k), y_test) for n in n_train])


def krr_learning_curve(target: Callable[[torch.Tensor], torch.Tensor], dim: int, n_train: Sequence[int],
                       blocks: Sequence[Sequence[int]] | None = None, n_test: int = 2000, length_scale: float = 1.0,
                       alpha: float = 1e-8, seed: int = 0, device=None) -> np.ndarray:
    """Relative RMSE of :class:`AdditiveKernelRidge` (``blocks=None``: global kernel) for each training size."""
    x_all = sample_uniform(max(n_train), dim, seed, device)
    x_test = sample_uniform(n_test, dim, seed + 1, device)
    y_all, y_test = target(x_all), target(x_test)
    errors = []
    for n in n_train:
        model = AdditiveKernelRidge(blocks, length_scale, alpha, device=x_all.device).fit(x_all[:n], y_all[:n])
        errors.append(relative_rmse(model.predict(x_test), y_test))
    return np.array(errors)


def fit_power_law(n: Sequence[float], err: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``log err = slope * log n + intercept``; returns ``(slope, intercept)``."""
    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    if len(n) < 2 or np.any(n <= 0) or np.any(err <= 0):
        raise ValueError("fit_power_law needs at least two positive (n, err) pairs")
    slope, intercept = np.polyfit(np.log(n), np.log(err), 1)
    return float(slope), float(intercept)


def curse_demo(dim: int, n: int, n_test: int = 500, seed: int = 0, device=None) -> dict[str, float]:
    """The numbers behind the chapter's widget, for ``n`` uniform samples in ``[0, 1]^dim``.

    Returns the 1-NN relative RMSE on :class:`DistanceToPoints`, the mean nearest-neighbour distance, the mean
    distance to all training points, and their ratio (which tends to 1 as ``dim`` grows: in high dimension the
    nearest neighbour is hardly nearer than anybody else).
    """
    if dim < 1 or n < 2:
        raise ValueError(f"dim must be >= 1 and n >= 2, got dim={dim}, n={n}")
    target = DistanceToPoints.random(dim, seed=seed, device=device)
    x, x_test = sample_uniform(n, dim, seed, device), sample_uniform(n_test, dim, seed + 1, device)
    nn, mean = nearest_neighbour_distances(x, x_test)
    return {
        "relative_rmse": relative_rmse(knn_predict(x, target(x), x_test), target(x_test)),
        "nn_distance": float(nn.mean()),
        "mean_distance": float(mean.mean()),
        "ratio": float(nn.mean() / mean.mean()),
        "_nn": nn.cpu().numpy(),
        "_mean": mean.cpu().numpy(),
    }


def plot_curse_demo(dim: int, n: int, seed: int = 0, device=None) -> str:
    """Draw the widget's figure (distance histograms) and return its one-line summary."""
    import matplotlib.pyplot as plt

    r = curse_demo(dim, n, seed=seed, device=device)
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    bins = np.linspace(0, max(r["_mean"].max(), r["_nn"].max()) * 1.05, 60)
    ax.hist(r["_nn"], bins=bins, alpha=0.7, label="distance to the nearest training point")
    ax.hist(r["_mean"], bins=bins, alpha=0.7, label="mean distance to all training points")
    ax.set_xlabel("distance")
    ax.set_ylabel("test points")
    ax.set_title(f"D = {dim}, n = {n}")
    ax.legend(fontsize=8)
    return (f"D = {dim}, n = {n}: 1-NN relative RMSE {r['relative_rmse']:.3f}; "
            f"nearest / mean distance = {r['ratio']:.2f}")


def knn_curves(dims: Sequence[int], n_train: Sequence[int], n_test: int = 2000, k: int = 1, seed: int = 0,
               device=None) -> dict[int, np.ndarray]:
    """:func:`knn_learning_curve` of a random :class:`DistanceToPoints` target in each dimension of ``dims``
    (target seeded ``seed + D``): ``{D: relative RMSE per training size}``."""
    return {D: knn_learning_curve(DistanceToPoints.random(D, seed=seed + D, device=device), D, n_train,
                                  n_test=n_test, k=k, seed=seed, device=device) for D in dims}


def samples_for_error(n_train: Sequence[int], errors: Sequence[float], target: float = 0.1,
                      fit_from: int = 0) -> tuple[float, float]:
    """``(slope, n)``: the power law fitted to ``errors`` from index ``fit_from`` on, and the number of samples at
    which it reaches the relative error ``target`` (``inf`` when the fitted law does not decay: an extrapolation
    would be meaningless)."""
    slope, intercept = fit_power_law(np.asarray(n_train)[fit_from:], np.asarray(errors)[fit_from:])
    return slope, float(np.exp((np.log(target) - intercept) / slope)) if slope < -1e-3 else math.inf


def curse_table(n_train: Sequence[int], knn_errors: dict[int, np.ndarray], fit_from: int = 0,
                target: float = 0.1) -> tuple[list[tuple], dict[int, float]]:
    """Rows ``(D, fitted slope, -1/D, error at the largest n, trivial baseline, n for a 10 % error)`` of the
    curse-of-dimensionality table, and ``{D: n needed}``. The baseline predicts the training mean: its relative
    RMSE is 1 by construction of :func:`relative_rmse` (up to sampling), whatever n."""
    rows, needed = [], {}
    for D, err in knn_errors.items():
        slope, needed[D] = samples_for_error(n_train, err, target, fit_from)
        rows.append((D, f"{slope:+.2f}", f"{-1 / D:+.2f}", f"{err[-1]:.3f}", "1.00",
                     f"{needed[D]:.1e}" if math.isfinite(needed[D]) else "unreachable"))
    return rows, needed


def linear_learning_curve(target: Callable[[torch.Tensor], torch.Tensor], dim: int, n_train: Sequence[int],
                          n_test: int = 2000, seed: int = 0, device=None) -> np.ndarray:
    """Relative RMSE of a least-squares affine fit ``w . x + b`` (the trivial global baseline) per training
    size, on the same samples as :func:`knn_learning_curve` and :func:`krr_learning_curve`."""
    x_all = sample_uniform(max(n_train), dim, seed, device)
    x_test = sample_uniform(n_test, dim, seed + 1, device)
    y_all, y_test = target(x_all), target(x_test)
    ones = torch.ones(len(x_all), 1, dtype=x_all.dtype, device=x_all.device)
    a_all = torch.cat([x_all, ones], dim=1)
    a_test = torch.cat([x_test, torch.ones(len(x_test), 1, dtype=x_all.dtype, device=x_all.device)], dim=1)
    errors = []
    for n in n_train:
        w = torch.linalg.lstsq(a_all[:n], y_all[:n, None]).solution
        errors.append(relative_rmse((a_test @ w)[:, 0], y_test))
    return np.array(errors)


def separable_curves(target: SeparableTarget, n_train: Sequence[int], n_test: int = 2000, seed: int = 0,
                     device=None) -> dict[str, np.ndarray]:
    """Relative RMSE per training size on a :class:`SeparableTarget` of three estimators on the same samples:
    kernel ridge with the Laplace kernel on the whole input (``"global kernel"``), the additive kernel over the
    target's blocks (``"additive (local) kernel"``, thesis eq. 1.1), and the affine baseline."""
    dim = target.dim
    return {
        "global kernel": krr_learning_curve(target, dim, n_train, blocks=None, n_test=n_test, seed=seed,
                                            device=device),
        "additive (local) kernel": krr_learning_curve(target, dim, n_train, blocks=target.blocks, n_test=n_test,
                                                      seed=seed, device=device),
        "linear baseline": linear_learning_curve(target, dim, n_train, n_test=n_test, seed=seed, device=device),
    }
