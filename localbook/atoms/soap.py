"""SOAP kernels with sparse (subset-of-regressors) kernel regression: the local terms of the thesis' spatial
separation model (ch. 2.5, terms 2 and 3).

* Environments: dscribe's SOAP power spectrum of every atom (periodic), normalised to unit length, so that the
  normalised SOAP kernel of exponent ``zeta`` is ``K_n(rho_i, rho_j) = (p_i . p_j)^zeta`` (thesis ch. 2.5.1).
* Representatives: ``n_sparse`` environments chosen by a deterministic CUR selection on the training
  descriptors. skmatter implements CUR but requires scikit-learn < 1.9, which conflicts with this project's
  pin, hence :func:`cur_select` here (leverage of the top singular vector, then projection of the chosen sample
  out of every row: the "recompute" variant of skmatter's ``CUR``).
* Energy model: ``E(A) = e0 N_A + sum_k sum_{i in A} sum_m w_km K_k(x_i, x_km)``, one block of ``w`` per SOAP
  kernel ``k``, optionally plus a learned pair potential ``phi(A) . v`` (:class:`localbook.atoms.pair.
  PairPotentialFeatures`, the long-range term of the thesis' spatial separation, ch. 2.5.2); fitted *jointly* by
  minimising ``|y - E|^2 + sum_k alpha_k w_k^T K_MM,k w_k + alpha_pair |v|^2`` (``e0`` unpenalised): the
  subset-of-regressors approximation of Gaussian process regression used by GAP, with one regularisation per
  kernel. ``|v|^2 = int_0^r_max V(r)^2 dr`` since the pair basis is orthonormal.
* Regularisations: each ``alpha`` given as a grid is chosen by leave-one-group-out cross-validation (groups: the
  MD runs) by coordinate search: one kernel's grid at a time, the others fixed, until no choice changes. The
  design matrix is built once and each inner fold's normal equations once, so a candidate costs one small solve.

Descriptors of a structure are memoised in-process (keyed by the structure's content and the SOAP settings), so
cross-validation over hyper-parameters does not recompute them.
"""
from __future__ import annotations

from collections import OrderedDict
from numbers import Integral, Real
from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from localbook.checks import check_structures
from localbook.data.cache import fingerprint

__all__ = ["soap_environments", "cur_select", "SparseSOAPRegressor", "coordinate_search"]

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
    (``C <- P C P``). The projected rows are never formed: with ``Q`` the orthonormal directions taken so far,
    the current matrix is ``X (I - Q Q^T)``, so a leverage is ``(X w)^2`` with ``w = v - Q Q^T v`` and the next
    direction is a row of ``X`` orthogonalised against ``Q`` (twice, for round-off). A step costs one
    matrix-vector product with ``X`` plus ``O(F^2)``, instead of rewriting the ``N x F`` matrix (ten times
    slower on 20,000 SOAP environments).
    """
    if not 1 <= n_select <= x.shape[0]:
        raise ValueError(f"n_select must be in [1, {x.shape[0]}], got {n_select}")
    c = x.T @ x
    q = x.new_zeros(x.shape[1], 0)
    chosen = []
    taken = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    v = torch.ones(x.shape[1], dtype=x.dtype, device=x.device)
    for _ in range(n_select):
        for _ in range(n_power):
            v = c @ v
            v = v / v.norm().clamp_min(1e-300)
        w = v - q @ (q.T @ v)
        leverage = torch.where(taken, torch.full_like(x[:, 0], -1.0), (x @ w) ** 2)
        i = int(leverage.argmax())
        chosen.append(i)
        taken[i] = True
        row = x[i] - q @ (q.T @ x[i])
        row = row - q @ (q.T @ row)
        row = row / row.norm().clamp_min(1e-300)
        q = torch.cat([q, row[:, None]], dim=1)
        cr = c @ row
        c = c - cr[:, None] * row[None, :] - row[:, None] * cr[None, :] + (row @ cr) * row[:, None] * row[None, :]
    return torch.tensor(chosen)


def coordinate_search(score, grids: Sequence[Sequence[float]], max_cycles: int = 4):
    """Minimise ``score(values)`` over the product of ``grids`` one coordinate at a time.

    Starts from the middle of each grid; each cycle scans every grid with more than one value, the others fixed,
    and keeps the best; stops when a cycle changes nothing. Returns ``(values, best_score, history)`` with
    ``history`` the list of ``(values, score)`` evaluated (each distinct combination once).
    """
    grids = [list(g) for g in grids]
    current = [g[len(g) // 2] for g in grids]
    seen: dict[tuple, float] = {}

    def evaluate(values):
        key = tuple(values)
        if key not in seen:
            seen[key] = float(score(list(values)))
        return seen[key]

    best = evaluate(current)
    for _ in range(max_cycles):
        changed = False
        for k, grid in enumerate(grids):
            if len(grid) < 2:
                continue
            scores = [evaluate(current[:k] + [v] + current[k + 1:]) for v in grid]
            choice = grid[int(np.argmin(scores))]
            if min(scores) < best and choice != current[k]:
                current[k], best, changed = choice, min(scores), True
        if not changed:
            break
    return current, best, list(seen.items())


def _grid(value) -> list[float]:
    return [float(value)] if np.isscalar(value) else [float(v) for v in value]


class SparseSOAPRegressor(RegressorMixin, BaseEstimator):
    """Sum of SOAP kernels over atoms with sparse representatives, optionally plus a pair potential, fitted
    jointly (module docstring); ``X`` is a list of ``ase.Atoms``.

    ``soaps``: a list of dicts of :func:`soap_environments` settings (the thesis: ``r_cut`` 3 Å, ``sigma`` 0.5 Å
    and ``r_cut`` 6 Å, ``sigma`` 1 Å, ``n_max = l_max = 10``); ``n_sparse`` representatives per SOAP;
    ``n_candidates``: CUR chooses among at most this many training environments, evenly strided (``None``: all;
    CUR's cost is linear in the number of candidates, and 10^5 environments of 256-atom cells make it the
    slowest step); ``zeta`` kernel exponent; ``alpha``: the regularisation of each SOAP kernel (eV^2 per unit of
    ``w^T K w``), a number or a grid (each kernel picks its own value from it); ``pair``: ``None`` or a
    :class:`~localbook.atoms.pair.PairPotentialFeatures` (the long-range pair term) with its regularisation
    ``pair_alpha`` (eV^2 per eV^2 Å of ``int V^2 dr``), a number or a grid. Grids need ``fit(X, y, groups)``.
    Fitted: ``alpha_`` (one per kernel), ``pair_alpha_``, ``cv_rmse_`` (inner RMSE at the choice, eV),
    ``cv_history_``, ``e0_``, ``coef_`` (SOAP weights), ``pair_coef_``.
    """

    _parameter_constraints = {
        "soaps": [list, tuple], "n_sparse": [Interval(Integral, 1, None, closed="left")],
        "zeta": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"], "device": "no_validation",
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
        "pair": [HasMethods(["fit", "transform"]), None],
        "pair_alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
    }

    def __init__(self, soaps: Sequence[dict] = ({"r_cut": 3.0, "sigma": 0.5}, {"r_cut": 6.0, "sigma": 1.0}),
                 n_sparse: int = 200, zeta: int = 2, alpha: float | Sequence[float] = 1e-3, device="cpu",
                 n_candidates: int | None = None, pair=None, pair_alpha: float | Sequence[float] = 1e-3):
        self.soaps = soaps
        self.n_sparse = n_sparse
        self.n_candidates = n_candidates
        self.zeta = zeta
        self.alpha = alpha
        self.device = device
        self.pair = pair
        self.pair_alpha = pair_alpha

    def _design(self, structures: Sequence[Atoms]) -> torch.Tensor:
        """``(n_structures, 1 + n_pair + sum_k M_k)``: atom count, pair features, summed kernels per SOAP."""
        blocks = [torch.tensor([[len(s)] for s in structures], dtype=torch.float64, device=self.device)]
        if self.pair is not None:
            blocks.append(torch.as_tensor(self.pair_.transform(structures), dtype=torch.float64, device=self.device))
        for settings, reps in zip(self.soaps, self.representatives_):
            envs = soap_environments(structures, **settings)
            a = torch.zeros(len(envs), len(reps), dtype=torch.float64, device=self.device)
            start = 0
            while start < len(envs):  # chunks of ~50,000 environments: the kernel block stays small in memory
                stop, count = start, 0
                while stop < len(envs) and (count == 0 or count + len(envs[stop]) <= 50_000):
                    count += len(envs[stop])
                    stop += 1
                flat = torch.as_tensor(np.concatenate(envs[start:stop]), dtype=torch.float64, device=self.device)
                owner = torch.repeat_interleave(torch.arange(start, stop, device=self.device),
                                                torch.tensor([len(e) for e in envs[start:stop]], device=self.device))
                a.index_add_(0, owner, (flat @ reps.T) ** self.zeta)
                start = stop
            blocks.append(a)
        return torch.cat(blocks, dim=1)

    def _penalty(self, alphas: Sequence[float], pair_alpha: float) -> torch.Tensor:
        """Block-diagonal penalty: 0 for ``e0``, ``pair_alpha I`` for the pair block, ``alpha_k K_MM,k``."""
        blocks = [torch.zeros(1, 1, dtype=torch.float64, device=self.device)]
        if self.pair is not None:
            blocks.append(pair_alpha * torch.eye(self.pair_.n_basis_, dtype=torch.float64, device=self.device))
        blocks += [a * k for a, k in zip(alphas, self.k_mm_)]
        return torch.block_diag(*blocks)

    @staticmethod
    def _solve(gram: torch.Tensor, rhs: torch.Tensor, penalty: torch.Tensor) -> torch.Tensor:
        lhs = gram + penalty
        lhs = lhs + 1e-10 * lhs.diagonal().mean() * torch.eye(len(lhs), dtype=lhs.dtype, device=lhs.device)
        return torch.linalg.solve(lhs, rhs)

    def fit(self, X: Sequence[Atoms], y, groups=None):
        """Fit on structures ``X`` and energies ``y`` (eV); ``groups`` (e.g. the MD run of each structure) are
        the inner folds that choose the regularisations given as grids. Returns ``self``."""
        self._validate_params()
        for name in ("alpha", "pair_alpha"):
            if min(_grid(getattr(self, name))) < 0:
                raise ValueError(f"{name} must be >= 0 (a number or a grid), got {getattr(self, name)!r}")
        if isinstance(X, Atoms) or not all(isinstance(a, Atoms) for a in X):
            raise TypeError("SparseSOAPRegressor takes a list of ase.Atoms")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} structures but y has {len(y)} values")
        y = torch.as_tensor(np.asarray(y, dtype=np.float64), device=self.device)
        if self.pair is not None:
            self.pair_ = clone(self.pair).fit(X)
        self.representatives_ = []
        for settings in self.soaps:
            per_structure = soap_environments(X, **settings)
            offsets = np.cumsum([0] + [len(e) for e in per_structure])
            rows = np.arange(offsets[-1])
            if self.n_candidates is not None and offsets[-1] > self.n_candidates:
                rows = torch.linspace(0, offsets[-1] - 1, self.n_candidates).long().numpy()
            owner = np.searchsorted(offsets, rows, side="right") - 1  # gather the candidates, not every environment
            envs = torch.as_tensor(np.stack([per_structure[o][r - offsets[o]] for o, r in zip(owner, rows)]),
                                   dtype=torch.float64, device=self.device)
            self.representatives_.append(envs[cur_select(envs, min(self.n_sparse, len(envs)))])
        self.k_mm_ = [(r @ r.T) ** self.zeta for r in self.representatives_]
        design = self._design(X)
        grids = [_grid(self.alpha)] * len(self.soaps) + ([_grid(self.pair_alpha)] if self.pair is not None else [])
        if any(len(g) > 1 for g in grids):
            if groups is None or len(np.unique(groups)) < 2:
                raise ValueError("choosing alpha among several values needs groups with at least two values: "
                                 "fit(X, y, groups=run) (the MD run of each structure)")
            groups = np.asarray(groups)
            folds = []
            for g in np.unique(groups):
                test = torch.as_tensor(groups == g, device=self.device)
                d_train = design[~test]
                folds.append((d_train.T @ d_train, d_train.T @ y[~test], design[test], y[test]))

            def inner_rmse(values):
                alphas, pair_alpha = values[:len(self.soaps)], (values[-1] if self.pair is not None else 0.0)
                penalty = self._penalty(alphas, pair_alpha)
                sq = sum(float(((d_test @ self._solve(gram, rhs, penalty) - y_test) ** 2).sum())
                         for gram, rhs, d_test, y_test in folds)
                return (sq / len(y)) ** 0.5

            chosen, self.cv_rmse_, self.cv_history_ = coordinate_search(inner_rmse, grids)
        else:
            chosen, self.cv_rmse_, self.cv_history_ = [g[0] for g in grids], None, []
        self.alpha_ = chosen[:len(self.soaps)]
        self.pair_alpha_ = chosen[-1] if self.pair is not None else None
        coef = self._solve(design.T @ design, design.T @ y, self._penalty(self.alpha_, self.pair_alpha_ or 0.0))
        n_pair = self.pair_.n_basis_ if self.pair is not None else 0
        self.e0_ = float(coef[0])
        self.pair_coef_ = coef[1:1 + n_pair].cpu().numpy() if self.pair is not None else None
        self.coef_ = coef[1 + n_pair:]
        return self

    def predict(self, X: Sequence[Atoms]) -> np.ndarray:
        check_is_fitted(self, "coef_")
        coef = torch.cat([torch.tensor([self.e0_], dtype=torch.float64, device=self.device),
                          *([torch.as_tensor(self.pair_coef_, device=self.device)] if self.pair is not None else []),
                          self.coef_])
        return (self._design(X) @ coef).cpu().numpy()

    def pair_energy(self, X: Sequence[Atoms]) -> np.ndarray:
        """The pair-potential part of the predicted energies (eV); zeros without a pair term."""
        check_is_fitted(self, "coef_")
        if self.pair is None:
            return np.zeros(len(X))
        return self.pair_.transform(X) @ self.pair_coef_

    def pair_potential(self, r) -> np.ndarray:
        """The learned pair potential ``V(r)`` (eV) at distances ``r`` (Å)."""
        check_is_fitted(self, "coef_")
        if self.pair is None:
            raise ValueError("this model has no pair term: SparseSOAPRegressor(pair=PairPotentialFeatures())")
        return self.pair_.potential(r, self.pair_coef_)

    def atomic_energies(self, atoms: Atoms) -> np.ndarray:
        """The local contributions ``e0 + sum_k sum_m w_km K_k(x_i, x_km)`` of each atom (eV), without the pair
        term."""
        check_is_fitted(self, "coef_")
        parts = []
        for settings, reps in zip(self.soaps, self.representatives_):
            env = torch.as_tensor(soap_environments([atoms], **settings)[0], dtype=torch.float64, device=self.device)
            parts.append((env @ reps.T) ** self.zeta)
        return (self.e0_ + torch.cat(parts, dim=1) @ self.coef_).cpu().numpy()
