"""Angular Fourier Series (AFS) descriptor (Bartok, Kondor and Csanyi 2013; thesis section 3.4.2).

For the neighbourhood N_i of atom i (the atoms within ``r_cut``), thesis eq. of section 3.4.2:

    A^i_{n,l} = sum_{j < k in N_i} g_n(r_ij) g_n(r_ik) cos(l theta_jik) f_c(r_ij) f_c(r_ik),

``n = 1..n_max``, ``l = 0..l_max`` (``n_max (l_max + 1)`` features; 220 for the thesis' 20, 10), with

* radial functions ``g_n``: the polynomials ``(r_cut - r)^(alpha + 2)``, alpha = 1..n_max, orthonormalised
  on [0, r_cut] with the weight r^2. Orthonormalised in degree order (Gram-Schmidt) they are closed-form
  Jacobi polynomials, ``g_n(r) = c_n x^3 P^(2,6)_{n-1}(2x - 1)`` with ``x = 1 - r / r_cut``, evaluated by their
  three-term recurrence. Why not Bartok's symmetric ``S^(-1/2)`` orthonormalisation: the overlap matrix of
  these 20 polynomials has a condition number far beyond 1e16, so ``S^(-1/2)`` is numerical noise in float64;
  both bases span the same space.
* ``cos(l theta) = T_l(cos theta)`` (Chebyshev recurrence), ``theta_jik`` the angle at atom i;
* the cut-off ``f_c(r) = (1 + cos(pi r / r_cut)) / 2``.

The structure descriptor is the sum over atoms, ``Phi = sum_i A^i`` (thesis 3.4.1); a linear model on it,
``S = <w, Phi> = sum_i <w, A^i>``, defines local contributions (thesis eq. 3.4).

Vectorised: neighbours come from ASE's ``neighbor_list`` and are padded to an ``(N, M)`` table; the sum over
pairs ``j < k`` is half the sum over all ``(j, k)`` minus the ``j = k`` terms, and the full sum is a batched
matrix product ``g^T T_l(U U^T) g`` (no gather of the ~M^2/2 pairs), in chunks of atoms to bound memory.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from localbook.checks import check_structures

__all__ = ["AFSDescriptor", "radial_basis", "afs_per_atom"]


def _jacobi(t: torch.Tensor, n_max: int, a: float = 2.0, b: float = 6.0) -> torch.Tensor:
    """Jacobi polynomials P^(a,b)_k(t), k = 0..n_max-1, stacked on a last axis."""
    out = [torch.ones_like(t)]
    if n_max > 1:
        out.append((a + 1) + (a + b + 2) * (t - 1) / 2)
    for n in range(2, n_max):
        c = 2 * n + a + b
        p = ((c - 1) * (c * (c - 2) * t + a * a - b * b) * out[-1]
             - 2 * (n + a - 1) * (n + b - 1) * c * out[-2]) / (2 * n * (n + a + b) * (c - 2))
        out.append(p)
    return torch.stack(out, -1)


def _radial_raw(r: torch.Tensor, n_max: int, r_cut: float) -> torch.Tensor:
    x = (1 - r / r_cut).clamp(min=0.0)
    return x[..., None] ** 3 * _jacobi(2 * x - 1, n_max)


def radial_basis(r, n_max: int = 20, r_cut: float = 5.0) -> torch.Tensor:
    """Orthonormal radial functions ``g_n(r)`` (A^-3/2), shape ``r.shape + (n_max,)``; zero beyond ``r_cut``.

    ``integral_0^r_cut g_n(r) g_m(r) r^2 dr = delta_nm``.
    """
    r = torch.as_tensor(r, dtype=torch.float64)
    xq, wq = np.polynomial.legendre.leggauss(80)
    rq = torch.as_tensor((xq + 1) * r_cut / 2)
    gq = _radial_raw(rq, n_max, r_cut)
    norm = torch.sqrt((gq ** 2 * (rq ** 2 * torch.as_tensor(wq) * r_cut / 2)[:, None]).sum(0))
    return _radial_raw(r, n_max, r_cut) / norm.to(r.device)


def afs_per_atom(atoms, n_max: int = 20, l_max: int = 10, r_cut: float = 5.0, device="cpu",
                 chunk_size: int = 64) -> torch.Tensor:
    """AFS descriptor of every atom's neighbourhood, ``(N, n_max * (l_max + 1))`` float64 on ``device``.

    Feature index ``(n - 1) * (l_max + 1) + l``. ``atoms``: ``ase.Atoms`` (periodic or not).
    """
    from ase.neighborlist import neighbor_list
    check_structures([atoms], who="afs_per_atom")  # a NaN atom gave zeros
    if n_max < 1 or l_max < 0 or not 0 < r_cut < float("inf"):  # a nan r_cut gave zeros
        raise ValueError(f"need n_max >= 1, l_max >= 0, r_cut > 0; got {n_max}, {l_max}, {r_cut}")
    dev = torch.device(device)
    n = len(atoms)
    i, dvec = neighbor_list("iD", atoms, r_cut)
    i = torch.as_tensor(i, dtype=torch.int64, device=dev)
    dvec = torch.as_tensor(dvec, dtype=torch.float64, device=dev)
    order = torch.argsort(i, stable=True)
    i, dvec = i[order], dvec[order]
    counts = torch.bincount(i, minlength=n)
    m = int(counts.max()) if i.numel() else 0
    n_feat = n_max * (l_max + 1)
    if m < 2:
        return torch.zeros(n, n_feat, dtype=torch.float64, device=dev)
    slot = torch.arange(i.numel(), device=dev) - (torch.cumsum(counts, 0) - counts)[i]
    vec = torch.zeros(n, m, 3, dtype=torch.float64, device=dev)
    vec[i, slot] = dvec
    mask = torch.zeros(n, m, dtype=torch.float64, device=dev)
    mask[i, slot] = 1.0
    r = torch.sqrt((vec ** 2).sum(-1)).clamp(min=1e-12)
    unit = vec / r[..., None]
    fc = 0.5 * (1 + torch.cos(torch.pi * r / r_cut)) * mask
    g = radial_basis(r, n_max, r_cut) * fc[..., None]          # (N, M, n_max)
    out = torch.empty(n, n_feat, dtype=torch.float64, device=dev)
    for s in range(0, n, chunk_size):  # chunks of atoms: memory ~ chunk * M^2 * (l_max + 1)
        sl = slice(s, min(s + chunk_size, n))
        cos = (unit[sl] @ unit[sl].transpose(1, 2)).clamp(-1.0, 1.0)      # (C, M, M)
        cheb = [torch.ones_like(cos), cos]
        for _ in range(2, l_max + 1):
            cheb.append(2 * cos * cheb[-1] - cheb[-2])
        cheb = torch.stack(cheb[: l_max + 1], 1)                          # (C, L+1, M, M)
        gs = g[sl]                                                         # (C, M, n_max)
        full = ((cheb @ gs[:, None]) * gs[:, None]).sum(2)                 # (C, L+1, n_max): all j, k
        diag = (gs ** 2).sum(1)[:, None, :]                                # j = k terms, T_l(1) = 1
        out[sl] = (0.5 * (full - diag)).transpose(1, 2).reshape(-1, n_feat)
    return out


class AFSDescriptor(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: a list of ``ase.Atoms`` -> summed AFS descriptors ``(M, n_max (l_max+1))``.

    Stateless (``fit`` does nothing); ``per_atom(atoms)`` gives the atomic descriptors (for local
    contributions). ``progress`` shows a tqdm bar over structures (``None``: only in a terminal/notebook).
    """

    def __init__(self, n_max: int = 20, l_max: int = 10, r_cut: float = 5.0, device="cpu", progress=False):
        self.n_max, self.l_max, self.r_cut, self.device, self.progress = n_max, l_max, r_cut, device, progress

    def fit(self, X, y=None):
        return self

    def per_atom(self, atoms) -> torch.Tensor:
        """``(N, n_features)`` atomic descriptors on ``device``."""
        return afs_per_atom(atoms, self.n_max, self.l_max, self.r_cut, self.device)

    def transform(self, X) -> np.ndarray:
        from tqdm.auto import tqdm
        if hasattr(X, "positions"):
            raise TypeError("AFSDescriptor.transform takes a list of ase.Atoms; wrap a single one as [atoms]")
        disable = None if self.progress is None else not self.progress
        rows = [self.per_atom(a).sum(0) for a in tqdm(X, desc="AFS", disable=disable)]
        return torch.stack(rows).cpu().numpy()

    def get_feature_names_out(self, input_features=None):
        return np.array([f"A_n{n}_l{l}" for n in range(1, self.n_max + 1) for l in range(self.l_max + 1)])
