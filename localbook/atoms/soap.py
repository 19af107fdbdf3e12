"""SOAP kernels with sparse (subset-of-regressors) kernel regression: the local terms of the thesis' spatial
separation model (ch. 2.5, terms 2 and 3).

* Environments: dscribe's SOAP power spectrum of every atom (periodic), normalised to unit length, so that the
  normalised SOAP kernel of exponent ``zeta`` is ``K_n(rho_i, rho_j) = (p_i . p_j)^zeta`` (thesis ch. 2.5.1).
* Representatives: ``n_sparse`` environments chosen by a deterministic CUR selection on the training
  descriptors. skmatter implements CUR but requires scikit-learn < 1.9, which conflicts with this project's
  pin, hence :func:`cur_select` here (leverage of the top singular vector, then projection of the chosen sample
  out of every row: the "recompute" variant of skmatter's ``CUR``).
* Energy model: ``E(A) = e0 N_A + sum_{i in A} sum_m w_m K_n(x_i, x_m)``, one block of ``w`` per SOAP; fitted by
  minimising ``|y - E|^2 + alpha w^T K_MM w`` (``e0`` unpenalised), i.e. the subset-of-regressors
  approximation of Gaussian process regression used by GAP.

Descriptors of a structure are memoised in-process (keyed by the structure's content and the SOAP settings), so
cross-validation over hyper-parameters does not recompute them.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms
from sklearn.base import BaseEstimator, RegressorMixin

from localbook.checks import check_structures
from localbook.data.cache import fingerprint

__all__ = ["soap_environments", "cur_select", "SparseSOAPRegressor"]

_MEMO: OrderedDict[str, np.ndarray] = OrderedDict()
_MEMO_SIZE = 20_000


def soap_environments(structures: Sequence[Atoms], r_cut: float, sigma: float, n_max: int = 10, l_max: int = 10,
                      species: Sequence[str] = ("C",), n_jobs: int = 1) -> list[np.ndarray]:
    """Unit-normalised SOAP power spectra of every atom: one ``(n_atoms, n_features)`` array per structure."""
    from dscribe.descriptors import SOAP

    structures = check_structures(structures, who="soap_environments")  # dscribe segfaults on a NaN position
    settings = dict(r_cut=r_cut, sigma=sigma, n_max=n_max, l_max=l_max, species=list(species))
    keys = [fingerprint([s, str(sorted(settings.items()))]) for s in structures]
    todo = [i for i, k in enumerate(keys) if k not in _MEMO]
    if todo:
        soap = SOAP(periodic=True, sparse=False, **settings)
        for i in todo:  # dscribe parallelises internally over atoms; one call per structure
            p = np.asarray(soap.create(structures[i], n_jobs=n_jobs), dtype=np.float64)
            _MEMO[keys[i]] = p / np.linalg.norm(p, axis=1, keepdims=True)
            if len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return [_MEMO[k] for k in keys]


def cur_select(x: torch.Tensor, n_select: int, n_power: int = 8) -> torch.Tensor:
    """Indices of ``n_select`` rows of ``x`` chosen by deterministic CUR (see the module docstring).

    Each step takes the row with the largest leverage on the top right singular vector of the current matrix,
    then projects that row's direction out of every row. The singular vector comes from power iterations on the
    feature covariance ``C = X^T X``, warm-started from the previous step and updated by the same projection
    (``C <- P C P``), so a step costs ``O(N F + F^2)``.
    """
    if not 1 <= n_select <= x.shape[0]:
        raise ValueError(f"n_select must be in [1, {x.shape[0]}], got {n_select}")
    x = x.clone()
    c = x.T @ x
    chosen = []
    taken = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    v = torch.ones(x.shape[1], dtype=x.dtype, device=x.device)
    for _ in range(n_select):
        for _ in range(n_power):
            v = c @ v
            v = v / v.norm().clamp_min(1e-300)
        leverage = torch.where(taken, torch.full_like(x[:, 0], -1.0), (x @ v) ** 2)
        i = int(leverage.argmax())
        chosen.append(i)
        taken[i] = True
        row = x[i] / x[i].norm().clamp_min(1e-300)
        x = x - (x @ row)[:, None] * row[None, :]
        cr = c @ row
        c = c - cr[:, None] * row[None, :] - row[:, None] * cr[None, :] + (row @ cr) * row[:, None] * row[None, :]
    return torch.tensor(chosen)


class SparseSOAPRegressor(BaseEstimator, RegressorMixin):
    """Sum of SOAP kernels over atoms with sparse representatives; ``X`` is a list of ``ase.Atoms``.

    ``soaps``: a list of dicts of :func:`soap_environments` settings (the thesis: ``r_cut`` 3 Å, ``sigma`` 0.5 Å
    and ``r_cut`` 6 Å, ``sigma`` 1 Å, ``n_max = l_max = 10``); ``n_sparse`` representatives per SOAP;
    ``n_candidates``: CUR chooses among at most this many training environments, evenly strided (``None``: all;
    CUR's cost is linear in the number of candidates, and 10^5 environments of 256-atom cells make it the
    slowest step); ``zeta`` kernel exponent; ``alpha`` regularisation (eV^2 per unit of ``w^T K w``): a number,
    or a sequence from which ``fit(X, y, groups)`` picks the value with the smallest leave-one-group-out error (the design
    matrix is built once, so each candidate costs one small linear solve); the choice is ``alpha_``.
    """

    def __init__(self, soaps: Sequence[dict] = ({"r_cut": 3.0, "sigma": 0.5}, {"r_cut": 6.0, "sigma": 1.0}),
                 n_sparse: int = 200, zeta: int = 2, alpha: float | Sequence[float] = 1e-3, device="cpu",
                 n_candidates: int | None = None):
        self.soaps = soaps
        self.n_sparse = n_sparse
        self.n_candidates = n_candidates
        self.zeta = zeta
        self.alpha = alpha
        self.device = device

    @staticmethod
    def _solve(design: torch.Tensor, y: torch.Tensor, k_mm: torch.Tensor, alpha: float) -> torch.Tensor:
        penalty = torch.zeros(design.shape[1], design.shape[1], dtype=torch.float64, device=design.device)
        penalty[1:, 1:] = alpha * k_mm
        lhs = design.T @ design + penalty
        lhs = lhs + 1e-10 * lhs.diagonal().mean() * torch.eye(len(lhs), dtype=lhs.dtype, device=lhs.device)
        return torch.linalg.solve(lhs, design.T @ y)

    def _design(self, structures: Sequence[Atoms]) -> tuple[torch.Tensor, torch.Tensor]:
        blocks = []
        for settings, reps in zip(self.soaps, self.representatives_):
            envs = soap_environments(structures, **settings)
            flat = torch.as_tensor(np.concatenate(envs), dtype=torch.float64, device=self.device)
            owner = torch.repeat_interleave(torch.arange(len(envs), device=self.device),
                                            torch.tensor([len(e) for e in envs], device=self.device))
            k = (flat @ reps.T) ** self.zeta
            a = torch.zeros(len(envs), len(reps), dtype=torch.float64, device=self.device)
            blocks.append(a.index_add_(0, owner, k))
        n_atoms = torch.tensor([len(s) for s in structures], dtype=torch.float64, device=self.device)
        return torch.cat(blocks, dim=1), n_atoms

    def fit(self, X: Sequence[Atoms], y, groups=None):
        if isinstance(X, Atoms) or not all(isinstance(a, Atoms) for a in X):
            raise TypeError("SparseSOAPRegressor takes a list of ase.Atoms")
        y = torch.as_tensor(np.asarray(y, dtype=np.float64), device=self.device)
        self.representatives_ = []
        for settings in self.soaps:
            envs = torch.as_tensor(np.concatenate(soap_environments(X, **settings)), dtype=torch.float64,
                                   device=self.device)
            if self.n_candidates is not None and len(envs) > self.n_candidates:
                envs = envs[torch.linspace(0, len(envs) - 1, self.n_candidates, device=self.device).long()]
            self.representatives_.append(envs[cur_select(envs, min(self.n_sparse, len(envs)))])
        a, n_atoms = self._design(X)
        k_mm = torch.block_diag(*[(r @ r.T) ** self.zeta for r in self.representatives_])
        design = torch.cat([n_atoms[:, None], a], dim=1)
        alphas = [float(self.alpha)] if np.isscalar(self.alpha) else [float(v) for v in self.alpha]
        if len(alphas) > 1:
            if groups is None or len(np.unique(groups)) < 2:
                raise ValueError("choosing alpha among several values needs groups with at least two values")
            groups = np.asarray(groups)
            self.cv_rmse_ = []
            for value in alphas:
                sq = 0.0
                for g in np.unique(groups):
                    test = torch.as_tensor(groups == g, device=self.device)
                    coef = self._solve(design[~test], y[~test], k_mm, value)
                    sq += float(((design[test] @ coef - y[test]) ** 2).sum())
                self.cv_rmse_.append((sq / len(y)) ** 0.5)
            self.alpha_ = alphas[int(np.argmin(self.cv_rmse_))]
        else:
            self.alpha_ = alphas[0]
        coef = self._solve(design, y, k_mm, self.alpha_)
        self.e0_, self.coef_ = float(coef[0]), coef[1:]
        return self

    def predict(self, X: Sequence[Atoms]) -> np.ndarray:
        a, n_atoms = self._design(X)
        return (self.e0_ * n_atoms + a @ self.coef_).cpu().numpy()

    def atomic_energies(self, atoms: Atoms) -> np.ndarray:
        """The local contributions ``e0 + sum_m w_m K(x_i, x_m)`` of each atom (eV)."""
        parts = []
        for settings, reps in zip(self.soaps, self.representatives_):
            env = torch.as_tensor(soap_environments([atoms], **settings)[0], dtype=torch.float64, device=self.device)
            parts.append((env @ reps.T) ** self.zeta)
        return (self.e0_ + torch.cat(parts, dim=1) @ self.coef_).cpu().numpy()
