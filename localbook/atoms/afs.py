"""Angular Fourier Series (AFS) descriptor (Bartok, Kondor and Csanyi 2013; thesis section 3.4.2).

For the neighbourhood N_i of atom i (the atoms within ``r_cut``), after thesis section 3.4.2:

    A^i_{n,l} = sum_{j < k in N_i} g_n(r_ij) g_n(r_ik) cos(l theta_jik) f_c(r_ij) f_c(r_ik),

summed over the pairs ``j < k`` of distinct neighbours as in the author's code (AFS-python, ``afs.py``: an
upper-triangular mask over neighbour pairs), where the printed equation sums over all ``j, k in N_i``; the
two differ by the ``j = k`` terms, a pure radial function ``sum_j g_n(r_ij)^2 f_c(r_ij)^2``. Two further
differences from that code, kept here after Bartok et al.: the radial functions are orthonormal with the
weight ``r^2`` (the code uses weight 1), and the cut-off ``f_c`` multiplies them (the code has none; its
polynomials vanish at ``r_cut`` already).

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

Vectorised: neighbours come from :func:`neighbour_vectors` (minimum image on the device for orthorhombic
periodic cells wider than ``2 r_cut``, ASE's ``neighbor_list`` otherwise) and are padded to an ``(N, M)``
table; the sum over pairs ``j < k`` is half the sum over all ``(j, k)`` minus the ``j = k`` terms, and the full
sum is a batched matrix product ``g^T T_l(U U^T) g`` for one ``l`` at a time (no gather of the ~M^2/2 pairs),
in chunks of atoms to bound memory.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from localbook.checks import check_structures

__all__ = ["AFSDescriptor", "radial_basis", "afs_per_atom", "neighbour_vectors", "afs_columns"]


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


def neighbour_vectors(atoms, r_cut: float, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``(i, d)``: for every ordered pair of atoms closer than ``r_cut`` (A), the index of the first (int64,
    ``(P,)``) and the vector to the second (A, ``(P, 3)``), sorted by ``i``; images included.

    For a periodic orthorhombic cell whose sides all exceed ``2 r_cut`` each pair has at most one image within
    ``r_cut``, the minimum image: all pairs are tested at once on ``device`` (``N^2`` work, 15x faster than ASE's
    cell lists for the book's cells of 128-250 atoms). Any other cell goes through ``ase.neighborlist``.
    """
    dev = torch.device(device)
    cell = np.asarray(atoms.cell[:], float)
    lengths = np.diag(cell).copy()
    orthorhombic = np.abs(cell - np.diag(lengths)).max() < 1e-12 if len(atoms) else False
    if all(atoms.pbc) and orthorhombic and lengths.min() > 2 * r_cut:
        pos = torch.as_tensor(atoms.positions, dtype=torch.float64, device=dev)
        box = torch.as_tensor(lengths, dtype=torch.float64, device=dev)
        d = pos[None, :, :] - pos[:, None, :]
        d = d - box * torch.round(d / box)
        r2 = (d * d).sum(-1)
        keep = r2 < r_cut ** 2
        keep.fill_diagonal_(False)
        i, j = torch.nonzero(keep, as_tuple=True)
        return i, d[i, j]
    from ase.neighborlist import neighbor_list
    i, dvec = neighbor_list("iD", atoms, r_cut)
    i = torch.as_tensor(i, dtype=torch.int64, device=dev)
    dvec = torch.as_tensor(dvec, dtype=torch.float64, device=dev)
    order = torch.argsort(i, stable=True)
    return i[order], dvec[order]


def afs_columns(n_max: int, l_max: int, n_keep: int, l_keep: int) -> np.ndarray:
    """Boolean mask of the columns of an ``(n_max, l_max)`` AFS that form the ``(n_keep, l_keep)`` one: the
    radial functions are orthonormalised in degree order, so the first ``n_keep`` of ``n_max`` are those of an
    ``n_keep`` basis, and the features ``(n, l)`` with ``n <= n_keep``, ``l <= l_keep`` are the smaller AFS."""
    if not (1 <= n_keep <= n_max and 0 <= l_keep <= l_max):
        raise ValueError(f"(n_keep, l_keep) = ({n_keep}, {l_keep}) must lie within (1..{n_max}, 0..{l_max})")
    n, l = np.meshgrid(np.arange(1, n_max + 1), np.arange(l_max + 1), indexing="ij")
    return ((n <= n_keep) & (l <= l_keep)).reshape(-1)


def afs_per_atom(atoms, n_max: int = 20, l_max: int = 10, r_cut: float = 5.0, device="cpu",
                 chunk_size: int = 64) -> torch.Tensor:
    """AFS descriptor of every atom's neighbourhood, ``(N, n_max * (l_max + 1))`` float64 on ``device``.

    Feature index ``(n - 1) * (l_max + 1) + l``. ``atoms``: ``ase.Atoms`` (periodic or not).
    """
    check_structures([atoms], who="afs_per_atom")  # a NaN atom gave zeros
    if n_max < 1 or l_max < 0 or not 0 < r_cut < float("inf"):  # a nan r_cut gave zeros
        raise ValueError(f"need n_max >= 1, l_max >= 0, r_cut > 0; got {n_max}, {l_max}, {r_cut}")
    dev = torch.device(device)
    n = len(atoms)
    i, dvec = neighbour_vectors(atoms, r_cut, dev)
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
    for s in range(0, n, chunk_size):  # chunks of atoms: memory ~ chunk * M^2 * 3
        sl = slice(s, min(s + chunk_size, n))
        cos = (unit[sl] @ unit[sl].transpose(1, 2)).clamp(-1.0, 1.0)      # (C, M, M)
        gs = g[sl]                                                         # (C, M, n_max)
        diag = (gs ** 2).sum(1)                                            # j = k terms, T_l(1) = 1
        t_prev, t_l = None, torch.ones_like(cos)
        full = torch.empty(cos.shape[0], n_max, l_max + 1, dtype=torch.float64, device=dev)
        for l in range(l_max + 1):  # Chebyshev recurrence T_l = 2 cos T_{l-1} - T_{l-2}, one l at a time
            if l == 1:
                t_prev, t_l = t_l, cos
            elif l > 1:
                t_prev, t_l = t_l, 2 * cos * t_l - t_prev
            full[:, :, l] = (torch.bmm(t_l, gs) * gs).sum(1)                # sum over all j, k
        out[sl] = (0.5 * (full - diag[:, :, None])).reshape(-1, n_feat)
    return out


class AFSDescriptor(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: a list of ``ase.Atoms`` -> summed AFS descriptors ``(M, n_max (l_max+1))``.

    Stateless (``fit`` does nothing); ``per_atom(atoms)`` gives the atomic descriptors (for local
    contributions). ``progress`` shows a tqdm bar over structures (``None``: only in a terminal/notebook).
    """

    _parameter_constraints = {"n_max": [Interval(Integral, 1, None, closed="left")],
                              "l_max": [Interval(Integral, 0, None, closed="left")],
                              "r_cut": [Interval(Real, 0, None, closed="neither")],
                              "device": "no_validation", "progress": ["boolean", None]}

    def __init__(self, n_max: int = 20, l_max: int = 10, r_cut: float = 5.0, device="cpu", progress=False):
        self.n_max, self.l_max, self.r_cut, self.device, self.progress = n_max, l_max, r_cut, device, progress

    def fit(self, X, y=None):
        self._validate_params()
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
