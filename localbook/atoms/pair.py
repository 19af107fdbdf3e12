"""A learned pair potential: the long-range term of the thesis' spatial-separation model (ch. 2.5.2, term 1).

``E_pair(A) = 1/2 sum_{i != j, images, r_ij < r_max} V(r_ij)`` with ``V(r) = sum_k w_k g_k(r)``: the energy is
linear in ``w``, so the features of a structure are ``phi_k(A) = 1/2 sum_{pairs} g_k(r_ij)`` and any linear
model (scikit-learn's ``RidgeCV``) fits ``w``. The basis follows the thesis: Gaussians of length scale 2 Å centred
on 30 equally spaced points of [0, 10] Å, orthonormalised in L^2([0, r_max]), times a cosine switch so that
``V`` vanishes smoothly at ``r_max``. Thirty Gaussians of width 2 Å spaced by 0.34 Å are nearly collinear: the
Gram matrix is numerically singular, so the orthonormalisation is Löwdin's (``G^{-1/2}`` through its
eigen-decomposition) restricted to the eigenvalues above ``rank_tol`` times the largest; ``n_basis_`` says how
many orthonormal functions remain.
"""
from __future__ import annotations

import numpy as np
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["PairPotentialFeatures", "pair_distances"]


def pair_distances(atoms: Atoms, r_max: float) -> np.ndarray:
    """Distances (Å) of all ordered pairs ``i != j`` (periodic images included) closer than ``r_max``."""
    return neighbor_list("d", atoms, r_max, self_interaction=False)


class PairPotentialFeatures(BaseEstimator, TransformerMixin):
    """Structures -> pair-potential features ``phi_k`` (see the module docstring); sklearn transformer.

    Parameters: ``n_gaussians`` centres on ``[0, r_max]`` Å, Gaussian ``length_scale`` Å, ``rank_tol`` for the
    orthonormalisation, ``device`` for the basis evaluation.
    """

    def __init__(self, n_gaussians: int = 30, r_max: float = 10.0, length_scale: float = 2.0,
                 rank_tol: float = 1e-8, n_quadrature: int = 4001, device="cpu"):
        self.n_gaussians = n_gaussians
        self.r_max = r_max
        self.length_scale = length_scale
        self.rank_tol = rank_tol
        self.n_quadrature = n_quadrature
        self.device = device

    def _raw(self, r: torch.Tensor) -> torch.Tensor:
        centers = torch.linspace(0.0, self.r_max, self.n_gaussians, dtype=torch.float64, device=r.device)
        g = torch.exp(-0.5 * ((r[:, None] - centers[None, :]) / self.length_scale) ** 2)
        switch = 0.5 * (1 + torch.cos(torch.pi * (r / self.r_max).clamp(0, 1)))
        return g * switch[:, None]

    def fit(self, X=None, y=None):
        if self.n_gaussians < 1 or self.r_max <= 0 or self.length_scale <= 0:
            raise ValueError("n_gaussians, r_max and length_scale must be positive")
        r = torch.linspace(0.0, self.r_max, self.n_quadrature, dtype=torch.float64, device=self.device)
        raw = self._raw(r)
        weights = torch.full_like(r, self.r_max / (self.n_quadrature - 1))
        weights[[0, -1]] /= 2  # trapezoidal rule
        gram = raw.T @ (raw * weights[:, None])
        evals, evecs = torch.linalg.eigh(gram)
        keep = evals > self.rank_tol * evals.max()
        self.transform_matrix_ = evecs[:, keep] / evals[keep].sqrt()  # Löwdin on the retained subspace
        self.n_basis_ = int(keep.sum())
        return self

    def basis(self, r) -> torch.Tensor:
        """The orthonormal basis functions at distances ``r`` (Å): ``(len(r), n_basis_)``."""
        r = torch.as_tensor(r, dtype=torch.float64, device=self.device)
        return self._raw(r) @ self.transform_matrix_

    def transform(self, X: list[Atoms]) -> np.ndarray:
        if not hasattr(self, "transform_matrix_"):
            self.fit()
        if isinstance(X, Atoms) or not all(isinstance(a, Atoms) for a in X):
            raise TypeError("PairPotentialFeatures.transform takes a list of ase.Atoms")
        distances = [pair_distances(a, self.r_max) for a in X]
        counts = torch.tensor([len(d) for d in distances], device=self.device)
        flat = torch.as_tensor(np.concatenate(distances), dtype=torch.float64, device=self.device)
        owner = torch.repeat_interleave(torch.arange(len(X), device=self.device), counts)
        phi = torch.zeros(len(X), self.n_basis_, dtype=torch.float64, device=self.device)
        phi.index_add_(0, owner, self.basis(flat))
        return (0.5 * phi).cpu().numpy()

    def potential(self, r, coef) -> np.ndarray:
        """``V(r) = sum_k coef_k g_k(r)`` in eV for a fitted linear model's ``coef`` (length ``n_basis_``)."""
        coef = torch.as_tensor(np.asarray(coef), dtype=torch.float64, device=self.device)
        return (self.basis(r) @ coef).cpu().numpy()

    def get_feature_names_out(self, input_features=None):
        return np.array([f"pair_basis_{k}" for k in range(self.n_basis_)], dtype=object)
