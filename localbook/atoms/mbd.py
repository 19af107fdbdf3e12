"""Many-body dispersion (MBD) energy of periodic cells and clusters, in torch: MBD@rsSCS and plain MBD
(thesis ch. 2.4.3).

The thesis' long-range target is the MBD@rsSCS energy of carbon cells {Tkatchenko et al., PRL 108, 236402
(2012); Ambrosetti et al., J. Chem. Phys. 140, 18A508 (2014)}, computed with the FHI MBD code. Each atom is a
quantum harmonic oscillator (QHO) with a dynamic polarisability ``alpha_i(iu) = alpha_i / (1 + (u / omega_i)^2)``
and ``omega_i = 4 C6_i / (3 alpha_i^2)``. Two steps:

1. **Range-separated self-consistent screening (rsSCS).** At each imaginary frequency ``iu`` the oscillators
   screen each other through the *short-range* part of the dipole coupling::

       A(u) = (diag(1 / alpha(iu)) (x) I_3 + T_SR(u))^-1                              (3N x 3N)
       alpha_i^SCS(iu) = 1/3 tr sum_j A_ij(u)
       T_SR,ij = (1 - f(r_ij; R_i + R_j)) T^GG_ij(sigma_ij(u))

   ``T^GG = -grad grad [erf(r / sigma) / r]`` couples two Gaussian charge distributions of widths
   ``sigma_i(u) = (sqrt(2 / pi) alpha_i(iu) / 3)^(1/3)`` (``sigma_ij^2 = sigma_i^2 + sigma_j^2``) and is finite
   at ``r = 0``. The screened parameters are ``alpha_i^SCS = alpha_i^SCS(0)``,
   ``C6_i^SCS = 3 / pi int_0^inf alpha_i^SCS(iu)^2 du`` (Casimir-Polder, by quadrature) and
   ``R_i^SCS = R_i (alpha_i^SCS / alpha_i)^(1/3)``.
2. **MBD.** The screened oscillators couple through the *long-range* dipole tensor, and the energy is the change
   of zero-point energy::

       C_ij = omega_i^2 delta_ij I_3 + omega_i omega_j sqrt(alpha_i alpha_j) T^LR_ij,   T^LR = f(r; R_i + R_j) T
       E_MBD = 1/2 sum_p sqrt(lambda_p(C)) - 3/2 sum_i omega_i

with ``T = -(3 r r^T - r^2 I) / r^5 = -grad grad (1/r)`` and the Fermi damping
``f(r; R) = 1 / (1 + exp(-d (r / (beta R) - 1)))``, ``d = 6``, ``beta = 0.83``: Ambrosetti et al.'s value for the
PBE functional (the thesis does not name its functional; PBE is the usual partner of MBD@rsSCS and the default
of the FHI and libMBD codes). ``variant="plain"`` skips step 1 (free-atom parameters in step 2): the target of the
first version of chapter 03, kept as a comparison.

Periodic cells are treated at the **Gamma point**, as one large molecule whose oscillators couple to the in-phase
oscillators of every image: ``T^LR_ij = sum_n f T(r_ij + n)``, a conditionally convergent sum that is computed by
**Ewald summation** (``f T = T - (1 - f) T``: real-space ``f T - T^GG(1/a)`` within ``ewald_cutoff``, reciprocal
space ``4 pi / V sum_G exp(-G^2 / 4a^2) G G^T / G^2 cos(G.r)``, minus the self term ``4 a^3 / (3 sqrt(pi))``, plus
the ``4 pi / 3V`` term of a spherical sample), like libMBD; the short-range screening sum converges absolutely
and is summed in real space up to the distance where ``1 - f`` falls below ``tolerance``.

Approximation: **free-atom parameters**, Tkatchenko-Scheffler free carbon (``alpha_0 = 12.0`` bohr^3,
``C6 = 46.6`` Ha bohr^6, ``R_vdW = 3.59`` bohr). In a DFT calculation they are first scaled by the Hirshfeld
volume ratio ``v_i`` of each atom (``alpha v, C6 v^2, R v^(1/3)``); there is no electron density here, so the
ratios are 1 unless given as ``atoms.arrays["hirshfeld_ratio"]``, and the screening of step 1 is the only
environment dependence of the parameters.

Checks (``tests/test_mbd.py``): the two-atom closed form of plain MBD; the damped pairwise ``C6`` limit at long
range; a NumPy loop reference written from the equations; and pymbd's NumPy implementation (libMBD's Python
reference, Ewald summation included) on small clusters, a C60 cage and a graphite cell. No well-kept library
computes MBD in torch on a GPU (libMBD is Fortran with an MPI build; PyPI ``pymbd`` 0.15.0 has invalid metadata
and loops over images in Python with dense NumPy arrays), hence this implementation.

Units: positions in Å (``ase.Atoms``), energies in eV; the model works in atomic units internally.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from collections.abc import Iterable

import numpy as np
import torch
from ase import Atoms
from ase.units import Bohr, Hartree

from localbook.checks import check_structures

__all__ = ["QHOParameters", "CARBON_TS", "BETA_PBE", "VARIANTS", "fermi_damping", "dipole_tensor_bare",
           "dipole_tensor_gaussian", "frequency_grid", "PairGeometry", "pair_geometry", "free_parameters",
           "screened_parameters", "dipole_matrix", "mbd_energy", "mbd_energies", "dispersion_energies",
           "pairwise_dispersion_energy"]

BETA_PBE = 0.83
"""Range-separation parameter ``beta`` of MBD@rsSCS for the PBE functional (Ambrosetti et al. 2014)."""
VARIANTS = ("rsscs", "plain")


@dataclass(frozen=True)
class QHOParameters:
    """Free-atom parameters of one element, atomic units: ``alpha0`` (bohr^3), ``c6`` (Ha bohr^6),
    ``r_vdw`` (bohr)."""

    alpha0: float
    c6: float
    r_vdw: float

    @property
    def omega(self) -> float:
        """Characteristic frequency ``4 C6 / (3 alpha0^2)`` (Ha)."""
        return 4.0 * self.c6 / (3.0 * self.alpha0**2)


CARBON_TS = QHOParameters(alpha0=12.0, c6=46.6, r_vdw=3.59)  # Tkatchenko & Scheffler, PRL 102, 073005 (2009)


def _device(device) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cpu")


def free_parameters(atoms: Atoms, params: dict[int, QHOParameters] | None = None,
                    device=None) -> dict[str, torch.Tensor]:
    """Per-atom ``alpha0`` (bohr^3), ``c6`` (Ha bohr^6), ``r_vdw`` (bohr) and ``omega`` (Ha), float64 on
    ``device``, scaled by ``atoms.arrays["hirshfeld_ratio"]`` when present (module docstring)."""
    device = _device(device)
    params = params or {6: CARBON_TS}
    missing = sorted(set(atoms.numbers.tolist()) - set(params))
    if missing:
        raise ValueError(f"no MBD parameters for atomic number(s) {missing}; pass params={{Z: QHOParameters(...)}}")
    par = [params[int(z)] for z in atoms.numbers]
    out = {name: torch.tensor([getattr(p, name) for p in par], dtype=torch.float64, device=device)
           for name in ("alpha0", "c6", "r_vdw")}
    if "hirshfeld_ratio" in atoms.arrays:
        v = torch.as_tensor(np.asarray(atoms.arrays["hirshfeld_ratio"], dtype=float), device=device)
        if not bool((v > 0).all()):
            raise ValueError("atoms.arrays['hirshfeld_ratio'] must hold positive Hirshfeld volume ratios")
        out["alpha0"], out["c6"], out["r_vdw"] = out["alpha0"] * v, out["c6"] * v**2, out["r_vdw"] * v ** (1 / 3)
    out["omega"] = 4.0 * out["c6"] / (3.0 * out["alpha0"] ** 2)
    return out


def fermi_damping(r: torch.Tensor, r_vdw_sum: torch.Tensor, beta: float = BETA_PBE, d: float = 6.0) -> torch.Tensor:
    """Fermi damping ``1 / (1 + exp(-d (r / (beta R) - 1)))`` of range-separated MBD (any units, consistent)."""
    return torch.sigmoid(d * (r / (beta * r_vdw_sum) - 1.0))


def _bare_coefficients(r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(a, b)`` with ``T = a I + b r r^T`` for the bare tensor: ``a = 1 / r^3``, ``b = -3 / r^5``."""
    inv3 = r ** -3
    return inv3, -3.0 * inv3 / (r * r)


def _gaussian_coefficients(r: torch.Tensor, sigma: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(a, b)`` with ``T^GG = a I + b r r^T``: ``(erf(z) - t) T + 2 z^2 t r r^T / r^5`` (see
    :func:`dipole_tensor_gaussian`)."""
    z = r / sigma
    t = 2.0 / math.sqrt(math.pi) * z * torch.exp(-z * z)
    g = torch.erf(z) - t
    inv3 = r ** -3
    return g * inv3, (2.0 * z * z * t - 3.0 * g) * inv3 / (r * r)


def _tensor(rvec: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(3, dtype=rvec.dtype, device=rvec.device)
    return a[:, None, None] * eye + b[:, None, None] * rvec[:, :, None] * rvec[:, None, :]


def dipole_tensor_bare(rvec: torch.Tensor) -> torch.Tensor:
    """Dipole tensors ``T = -(3 r r^T - r^2 I) / r^5 = -grad grad (1/r)`` of pair vectors ``(P, 3)``: ``(P, 3, 3)``."""
    return _tensor(rvec, *_bare_coefficients(rvec.norm(dim=-1)))


def dipole_tensor_gaussian(rvec: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Dipole tensors of Gaussian charge distributions, ``T^GG = -grad grad [erf(r / sigma) / r]``, ``(P, 3, 3)``.

    Differentiating twice gives ``T^GG = (erf(z) - t) T + 2 z^2 t r r^T / r^5`` with ``z = r / sigma``,
    ``t = 2 z exp(-z^2) / sqrt(pi)`` and ``T`` the bare tensor: it tends to ``T`` at large ``r`` (tested against
    finite differences). ``sigma``: the combined width of each pair ``(P,)``, or one number.
    """
    return _tensor(rvec, *_gaussian_coefficients(rvec.norm(dim=-1), sigma))


def frequency_grid(n: int = 15, scale: float = 0.6, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes ``u`` (Ha) and weights of an ``n``-point quadrature of ``int_0^inf g(u) du``.

    Gauss-Legendre in ``theta`` on ``[0, pi/2]`` after ``u = scale tan(theta)``: exact to rounding for the
    free-atom Casimir-Polder integrand ``alpha(iu)^2`` when ``scale = omega`` (it becomes ``cos^2 theta``), and
    within ``1e-13`` relative for free carbon (``omega = 0.43`` Ha) with the defaults; screened polarisabilities
    are sums of such poles.
    """
    if n < 1 or scale <= 0:
        raise ValueError(f"need n >= 1 nodes and a positive scale, got n={n}, scale={scale}")
    x, w = np.polynomial.legendre.leggauss(n)
    theta = (x + 1) * math.pi / 4
    u = scale * np.tan(theta)
    weight = w * math.pi / 4 * scale / np.cos(theta) ** 2
    return (torch.as_tensor(u, dtype=torch.float64, device=_device(device)),
            torch.as_tensor(weight, dtype=torch.float64, device=_device(device)))


@dataclass
class PairGeometry:
    """Every ordered pair ``(i, j, image n)`` of a structure closer than ``r_cut_bohr`` (the atom with itself
    excluded): atom indices ``i``, ``j`` ``(P,)`` and vectors ``rvec = r_i - r_j + n . cell`` ``(P, 3)``, bohr.
    ``positions`` ``(N, 3)`` and ``cell`` ``(3, 3)`` (rows) in bohr, ``cell`` ``None`` for a cluster.
    Distances and the products ``r_a r_b`` are computed once and reused by every tensor built on the pairs."""

    positions: torch.Tensor
    cell: torch.Tensor | None
    i: torch.Tensor
    j: torch.Tensor
    rvec: torch.Tensor
    r_cut_bohr: float

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[0]

    @property
    def periodic(self) -> bool:
        return self.cell is not None

    @cached_property
    def r(self) -> torch.Tensor:
        return self.rvec.norm(dim=-1)

    @cached_property
    def products(self) -> torch.Tensor:
        """``(P, 6)``: ``xx, yy, zz, xy, xz, yz`` of each pair vector."""
        x, y, z = self.rvec.unbind(-1)
        return torch.stack([x * x, y * y, z * z, x * y, x * z, y * z], 1)

    @cached_property
    def key(self) -> torch.Tensor:
        """Flat index ``i N + j`` of each pair."""
        return self.i * self.n_atoms + self.j

    def within(self, r_cut_bohr: float) -> PairGeometry:
        """The pairs closer than ``r_cut_bohr``."""
        keep = self.r < r_cut_bohr
        return PairGeometry(self.positions, self.cell, self.i[keep], self.j[keep], self.rvec[keep],
                            min(r_cut_bohr, self.r_cut_bohr))


def pair_geometry(atoms: Atoms, r_cut: float | None, device=None) -> PairGeometry:
    """The :class:`PairGeometry` of ``atoms``: all pairs of a cluster (``atoms.pbc`` all False; ``r_cut`` may be
    ``None``), or of a fully periodic cell within ``r_cut`` Å.

    A periodic cell starts from minimum-image differences (fractional coordinates rounded), so that only lattice
    translations ``t`` with ``|t| <= r_cut + max |d_ij|`` can contribute (about 30 for a 500-atom carbon cell and
    20 Å, against the 343 of a full box of repeats).
    """
    device = _device(device)
    check_structures([atoms], who="mbd_energy")  # coincident atoms or a NaN gave 0.0 eV
    if len(atoms) == 0:
        raise ValueError("MBD needs at least one atom")
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any() and not pbc.all():
        raise ValueError(f"MBD here handles clusters (pbc all False) or bulk cells (pbc all True), got pbc={pbc}; "
                         "for a slab, add vacuum and use pbc=True")
    pos = torch.as_tensor(atoms.get_positions(), dtype=torch.float64, device=device)
    diff = pos[:, None, :] - pos[None, :, :]
    cell_t = None
    if pbc.all():
        cell = np.asarray(atoms.cell, dtype=float)
        if abs(np.linalg.det(cell)) < 1e-9:
            raise ValueError("periodic structure with a degenerate cell: set atoms.cell or atoms.pbc = False")
        if r_cut is None or not r_cut > 0:
            raise ValueError(f"a periodic cell needs a positive cutoff, got r_cut={r_cut}")
        cell_t = torch.as_tensor(cell, dtype=torch.float64, device=device)
        frac = diff @ torch.linalg.inv(cell_t)
        diff = (frac - torch.round(frac)) @ cell_t
        reach = r_cut + float(diff.norm(dim=-1).max())
        heights = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        m = [int(math.ceil(reach / h)) for h in heights]
        n = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in m], indexing="ij"), -1).reshape(-1, 3)
        shifts = n @ cell
        shifts = shifts[np.linalg.norm(shifts, axis=1) <= reach]
    else:
        shifts = np.zeros((1, 3))
        r_cut = math.inf if r_cut is None else r_cut
    n_atoms = len(atoms)
    idx = torch.arange(n_atoms, device=device)
    ii, jj = torch.meshgrid(idx, idx, indexing="ij")
    parts = []
    for shift in torch.as_tensor(shifts, dtype=torch.float64, device=device):
        rvec = diff + shift
        r = rvec.norm(dim=-1)
        keep = (r < r_cut) & (r > 1e-8)  # r ~ 0: the atom itself (i = j, n = 0)
        if keep.any():
            parts.append((ii[keep], jj[keep], rvec[keep]))
    i, j, rvec = (torch.cat(p) for p in zip(*parts)) if parts else (
        idx[:0], idx[:0], torch.zeros(0, 3, dtype=torch.float64, device=device))
    return PairGeometry(pos / Bohr, None if cell_t is None else cell_t / Bohr, i, j, rvec / Bohr, r_cut / Bohr)


_UPPER = ([0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2])  # the 6 distinct components of a symmetric 3 x 3 tensor


def _pair_sum_matrix(geom: PairGeometry, coefficients) -> torch.Tensor:
    """``(3N, 3N)`` matrix whose block ``(i, j)`` sums ``a I + b r r^T`` over the images of pair ``(i, j)``.

    ``coefficients(i, j, r) -> (a, b)``, each ``(P,)``: every tensor of this module has this form, so the sum
    accumulates 7 numbers per pair instead of a ``(P, 3, 3)`` array. Both ``(i, j, n)`` and ``(j, i, -n)`` are
    pairs, so the result is symmetric.
    """
    n = geom.n_atoms
    a, b = coefficients(geom.i, geom.j, geom.r)
    dev = geom.positions.device
    iso = torch.zeros(n * n, dtype=torch.float64, device=dev).index_add_(0, geom.key, a).view(n, n)
    aniso = torch.zeros(n * n, 6, dtype=torch.float64, device=dev).index_add_(0, geom.key, b[:, None] * geom.products)
    aniso = aniso.view(n, n, 6)
    out = torch.empty(n, 3, n, 3, dtype=torch.float64, device=dev)  # row 3 i + a, column 3 j + b
    for k, (p, q) in enumerate(zip(*_UPPER)):
        out[:, p, :, q] = aniso[:, :, k] + (iso if p == q else 0.0)
        if p != q:
            out[:, q, :, p] = aniso[:, :, k]
    return out.view(3 * n, 3 * n)


def _short_range_cutoff_bohr(r_vdw: torch.Tensor, beta: float, d: float, tolerance: float) -> float:
    """Distance (bohr) beyond which ``1 - f < sqrt(tolerance)`` for every pair: there ``(1 - f) |T^GG|`` is below
    ``tolerance`` relative to ``1 / alpha`` (``|T^GG| alpha < 1e-2`` beyond 6 Å for carbon)."""
    return float(beta * 2 * r_vdw.max()) * (1.0 + 0.5 * math.log(1.0 / tolerance) / d)


def _ewald_parameters(geom: PairGeometry, tolerance: float) -> tuple[float, float]:
    """Ewald splitting ``a`` (1/bohr) and reciprocal cutoff (1/bohr) for the real-space cutoff of ``geom``:
    ``erfc(a r_cut) ~ exp(-G_max^2 / 4 a^2) ~ tolerance``."""
    c = math.sqrt(math.log(1.0 / tolerance))
    a = c / geom.r_cut_bohr
    return a, 2.0 * a * c


def _ewald_smooth_part(geom: PairGeometry, a: float, g_max: float) -> torch.Tensor:
    """The reciprocal-space, self and ``4 pi / 3V`` terms of the Ewald sum of ``T`` at the Gamma point
    (``(3N, 3N)``); the real-space part ``T - T^GG(1/a)`` is added pair by pair."""
    pos, cell = geom.positions, geom.cell
    n = geom.n_atoms
    volume = float(torch.linalg.det(cell).abs())
    recip = 2 * math.pi * torch.linalg.inv(cell).T  # rows b_k, a_i . b_k = 2 pi delta_ik
    m = [int(math.floor(g_max * float(cell[k].norm()) / (2 * math.pi))) for k in range(3)]
    idx = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in m], indexing="ij"), -1).reshape(-1, 3)
    first = np.array([next((v for v in row if v != 0), 0) for row in idx])
    idx = idx[first > 0]  # one of each pair +-G: both give the same cos(G.r_i) cos(G.r_j) + sin sin
    g = torch.as_tensor(idx, dtype=torch.float64, device=pos.device) @ recip
    g2 = (g**2).sum(-1)
    keep = g2 <= g_max**2
    g, g2 = g[keep], g2[keep]
    weight = 2 * 4 * math.pi / volume * torch.exp(-g2 / (4 * a * a)) / g2
    phase = pos @ g.T  # (N, nG)
    out = torch.zeros(3 * n, 3 * n, dtype=torch.float64, device=pos.device)
    for trig in (torch.cos, torch.sin):
        q = (trig(phase) * weight.sqrt())[:, None, :] * g.T[None, :, :]  # (N, 3, nG)
        q = q.reshape(3 * n, -1)
        out += q @ q.T
    eye = torch.eye(3, dtype=torch.float64, device=pos.device)
    out += (4 * math.pi / (3 * volume)) * eye.repeat(n, n)  # G -> 0 limit, spherical sample
    out -= (4 * a**3 / (3 * math.sqrt(math.pi))) * torch.eye(3 * n, dtype=torch.float64, device=pos.device)
    return out


def dipole_matrix(geom: PairGeometry, r_vdw: torch.Tensor, beta: float = BETA_PBE, d: float = 6.0,
                  tolerance: float = 1e-10, ewald: torch.Tensor | None = None) -> torch.Tensor:
    """The long-range coupling ``T^LR = sum_images f T`` as a ``(3N, 3N)`` matrix (atomic units).

    Clusters: the direct sum over ``geom``'s pairs. Periodic cells: Ewald summation at the Gamma point (module
    docstring), real space over ``geom``'s pairs (its cutoff sets the splitting); ``ewald``: the precomputed
    :func:`_ewald_smooth_part` to reuse for a second set of radii.
    """
    if not geom.periodic:
        def damped(i, j, r):
            f = fermi_damping(r, r_vdw[i] + r_vdw[j], beta, d)
            a, b = _bare_coefficients(r)
            return f * a, f * b

        return _pair_sum_matrix(geom, damped)
    if geom.r_cut_bohr < _short_range_cutoff_bohr(r_vdw, beta, d, tolerance):
        raise ValueError("the Ewald real-space cutoff must reach the range of the Fermi damping: raise ewald_cutoff")
    a, g_max = _ewald_parameters(geom, tolerance)

    def real_space(i, j, r):  # f T - T^GG(1/a): the damped tensor minus the smooth part summed in reciprocal space
        f = fermi_damping(r, r_vdw[i] + r_vdw[j], beta, d)
        a_bare, b_bare = _bare_coefficients(r)
        a_gg, b_gg = _gaussian_coefficients(r, 1.0 / a)
        return f * a_bare - a_gg, f * b_bare - b_gg

    real = _pair_sum_matrix(geom, real_space)
    return real + (_ewald_smooth_part(geom, a, g_max) if ewald is None else ewald)


def screened_parameters(atoms: Atoms, params: dict[int, QHOParameters] | None = None, beta: float = BETA_PBE,
                        d: float = 6.0, n_freq: int = 15, tolerance: float = 1e-10, device=None,
                        geometry: PairGeometry | None = None) -> dict[str, torch.Tensor]:
    """rsSCS-screened ``alpha0`` (bohr^3), ``c6`` (Ha bohr^6), ``r_vdw`` (bohr) and ``omega`` (Ha) of every atom.

    Step 1 of the module docstring: one Cholesky factorisation ``(3N x 3N)`` per frequency (``n_freq`` quadrature
    nodes plus ``u = 0``); only the row sums of ``A(u)`` are needed, so the right-hand side is ``N`` stacked
    identities. Raises ``ValueError`` when ``diag(1/alpha) + T_SR`` is not positive definite (a polarisation
    catastrophe). ``geometry``: a :func:`pair_geometry` to reuse (its pairs beyond the range of ``1 - f`` are
    dropped); it must reach that range (about 13 Å for carbon).
    """
    device = _device(device)
    free = free_parameters(atoms, params, device)
    r_sr = _short_range_cutoff_bohr(free["r_vdw"], beta, d, tolerance)
    geom = pair_geometry(atoms, r_sr * Bohr, device) if geometry is None else geometry
    if geom.periodic and geom.r_cut_bohr < r_sr - 1e-9:
        raise ValueError(f"the pair geometry reaches {geom.r_cut_bohr * Bohr:.2f} Å, less than the screening range "
                         f"{r_sr * Bohr:.2f} Å: raise ewald_cutoff")
    geom = geom.within(r_sr)
    u, w = frequency_grid(n_freq, device=device)
    n = len(atoms)
    rhs = torch.eye(3, dtype=torch.float64, device=device).repeat(n, 1)  # (3N, 3): sums the blocks of each row
    alpha_scs = []
    for freq in torch.cat([u.new_zeros(1), u]):
        alpha_u = free["alpha0"] / (1.0 + (freq / free["omega"]) ** 2)
        sigma = (math.sqrt(2.0 / math.pi) * alpha_u / 3.0) ** (1.0 / 3.0)

        def short_range(i, j, r, sigma=sigma):
            damp = 1.0 - fermi_damping(r, free["r_vdw"][i] + free["r_vdw"][j], beta, d)
            a, b = _gaussian_coefficients(r, torch.sqrt(sigma[i] ** 2 + sigma[j] ** 2))
            return damp * a, damp * b

        m = _pair_sum_matrix(geom, short_range)
        m = m + torch.diag((1.0 / alpha_u).repeat_interleave(3))
        chol, info = torch.linalg.cholesky_ex(m)
        if int(info) != 0:
            raise ValueError("the rsSCS matrix diag(1/alpha) + T_SR is not positive definite at "
                             f"u = {float(freq):.3g} Ha: atoms are too close for these parameters "
                             "(polarisation catastrophe)")
        y = torch.cholesky_solve(rhs, chol).reshape(n, 3, 3)
        alpha_scs.append(y.diagonal(dim1=1, dim2=2).sum(-1) / 3.0)
    alpha_scs = torch.stack(alpha_scs)
    alpha0, c6 = alpha_scs[0], 3.0 / math.pi * (w[:, None] * alpha_scs[1:] ** 2).sum(0)
    if not bool((alpha0 > 0).all()):
        raise ValueError("rsSCS gave a non-positive polarisability (polarisation catastrophe)")
    return {"alpha0": alpha0, "c6": c6, "r_vdw": free["r_vdw"] * (alpha0 / free["alpha0"]) ** (1.0 / 3.0),
            "omega": 4.0 * c6 / (3.0 * alpha0**2)}


def _geometry(atoms: Atoms, ewald_cutoff: float, device) -> PairGeometry:
    """All pairs of a cluster, or the pairs of a periodic cell within the Ewald real-space cutoff."""
    return pair_geometry(atoms, ewald_cutoff if np.asarray(atoms.pbc).any() else None, device)


def _mbd_from_parameters(geom: PairGeometry, qho: dict[str, torch.Tensor], beta: float, d: float,
                         tolerance: float, ewald=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 2: the MBD energy (Ha) and the eigenvalues of ``C`` (Ha^2) for given oscillator parameters."""
    alpha, omega = qho["alpha0"], qho["omega"]
    t = dipole_matrix(geom, qho["r_vdw"], beta, d, tolerance, ewald)
    scale = (omega * alpha.sqrt()).repeat_interleave(3)
    c = scale[:, None] * t * scale[None, :] + torch.diag((omega**2).repeat_interleave(3))
    eigenvalues = torch.linalg.eigvalsh(c)
    if eigenvalues.min() <= 0:
        raise ValueError(
            f"the MBD coupled matrix has a non-positive eigenvalue ({float(eigenvalues.min()):.3e} Ha^2): "
            "atoms are too close for these parameters (polarisation catastrophe)")
    return 0.5 * eigenvalues.sqrt().sum() - 1.5 * omega.sum(), eigenvalues


def _pairwise_from_parameters(geom: PairGeometry, qho: dict[str, torch.Tensor], beta: float,
                              d: float) -> torch.Tensor:
    """``-1/2 sum_{ordered pairs, images} f^2 C6_ij / r^6`` (Ha); for a periodic cell, the pairs beyond the
    cutoff ``r_c`` are added as a uniform continuum, ``-2 pi / (3 V r_c^3) sum_ij C6_ij`` (``f = 1`` there)."""
    alpha, c6, r_vdw = qho["alpha0"], qho["c6"], qho["r_vdw"]

    def combined(i, j):  # the C6 combination rule of Tkatchenko-Scheffler
        return 2 * c6[i] * c6[j] / (alpha[j] / alpha[i] * c6[i] + alpha[i] / alpha[j] * c6[j])

    i, j, r = geom.i, geom.j, geom.r
    energy = -0.5 * (fermi_damping(r, r_vdw[i] + r_vdw[j], beta, d) ** 2 * combined(i, j) / r**6).sum()
    if geom.periodic:
        idx = torch.arange(geom.n_atoms, device=r.device)
        volume = float(torch.linalg.det(geom.cell).abs())
        energy = energy - 2 * math.pi / (3 * volume * geom.r_cut_bohr**3) * combined(idx[:, None], idx[None, :]).sum()
    return energy


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS} (MBD@rsSCS, or MBD with free-atom parameters), "
                         f"got {variant!r}")


def dispersion_energies(atoms: Atoms, params: dict[int, QHOParameters] | None = None, beta: float = BETA_PBE,
                        d: float = 6.0, n_freq: int = 15, ewald_cutoff: float = 20.0, tolerance: float = 1e-10,
                        device=None) -> dict[str, float]:
    """Every dispersion energy (eV) of one structure, sharing one pair list and one Ewald reciprocal sum:

    ``mbd_rsscs`` (MBD@rsSCS, the thesis' target), ``mbd_plain`` (MBD with free-atom parameters), ``pair_rsscs``
    and ``pair_free`` (the damped pairwise ``C6`` sums over all images with screened and free parameters), plus
    ``alpha_ratio_rsscs``, the mean of ``alpha^SCS / alpha_0`` over atoms. ``mbd_rsscs - pair_free`` is what a
    fixed pair potential misses.
    """
    device = _device(device)
    geom = _geometry(atoms, ewald_cutoff, device)
    free = free_parameters(atoms, params, device)
    scs = screened_parameters(atoms, params, beta, d, n_freq, tolerance, device, geom)
    ewald = _ewald_smooth_part(geom, *_ewald_parameters(geom, tolerance)) if geom.periodic else None
    return {"mbd_rsscs": float(_mbd_from_parameters(geom, scs, beta, d, tolerance, ewald)[0]) * Hartree,
            "mbd_plain": float(_mbd_from_parameters(geom, free, beta, d, tolerance, ewald)[0]) * Hartree,
            "pair_rsscs": float(_pairwise_from_parameters(geom, scs, beta, d)) * Hartree,
            "pair_free": float(_pairwise_from_parameters(geom, free, beta, d)) * Hartree,
            "alpha_ratio_rsscs": float((scs["alpha0"] / free["alpha0"]).mean())}


def _oscillators(atoms, params, variant, beta, d, n_freq, ewald_cutoff, tolerance, device):
    """The pair geometry of ``atoms`` and its oscillators' parameters, free (``"plain"``) or screened (``"rsscs"``)."""
    _check_variant(variant)
    device = _device(device)
    geom = _geometry(atoms, ewald_cutoff, device)
    if variant == "rsscs":
        return geom, screened_parameters(atoms, params, beta, d, n_freq, tolerance, device, geom)
    return geom, free_parameters(atoms, params, device)


def mbd_energy(atoms: Atoms, params: dict[int, QHOParameters] | None = None, variant: str = "rsscs",
               beta: float = BETA_PBE, d: float = 6.0, n_freq: int = 15, ewald_cutoff: float = 20.0,
               tolerance: float = 1e-10, device=None, return_eigenvalues: bool = False):
    """MBD energy (eV, a float64 0-d tensor on ``device``) of a cluster or a periodic cell (Gamma point).

    ``variant``: ``"rsscs"`` (MBD@rsSCS, default) or ``"plain"`` (free-atom parameters). ``ewald_cutoff`` (Å):
    the real-space cutoff of the Ewald sum of a periodic cell (the splitting follows from it and ``tolerance``,
    the relative size of the neglected terms); ``n_freq``: the Casimir-Polder quadrature. Raises ``ValueError``
    on a polarisation catastrophe (atoms far too close for these parameters).
    """
    geom, qho = _oscillators(atoms, params, variant, beta, d, n_freq, ewald_cutoff, tolerance, device)
    energy_ha, eigenvalues = _mbd_from_parameters(geom, qho, beta, d, tolerance)
    energy = energy_ha * Hartree
    return (energy, eigenvalues) if return_eigenvalues else energy


def mbd_energies(structures: Iterable[Atoms], progress: bool | None = None, **kwargs) -> np.ndarray:
    """MBD energies (eV) of several structures, as a NumPy array; ``kwargs`` go to :func:`mbd_energy`."""
    from tqdm.auto import tqdm

    structures = list(structures)
    return np.array([float(mbd_energy(a, **kwargs)) for a in
                     tqdm(structures, desc="MBD", disable=(not progress) if progress is not None else None)])


def pairwise_dispersion_energy(atoms: Atoms, params: dict[int, QHOParameters] | None = None, variant: str = "plain",
                               beta: float = BETA_PBE, d: float = 6.0, n_freq: int = 15, ewald_cutoff: float = 20.0,
                               tolerance: float = 1e-10, device=None) -> torch.Tensor:
    """The damped pairwise ``C6`` sum ``-sum_{i<j, images} f(r)^2 C6_ij / r^6`` (eV), the second-order term of
    the MBD energy of a cluster.

    ``variant="plain"`` (default): free-atom ``C6`` and radii, a fixed pair potential; ``"rsscs"``: the screened
    ones. For a periodic cell each pair of atoms in the cell and each image pair counts once per cell (image pairs
    of an atom with its own images count half), explicitly up to ``ewald_cutoff`` Å and as a uniform continuum
    beyond. ``E_MBD - E_pair`` is the many-body (non-additive) part.
    """
    geom, qho = _oscillators(atoms, params, variant, beta, d, n_freq, ewald_cutoff, tolerance, device)
    return _pairwise_from_parameters(geom, qho, beta, d) * Hartree


REFERENCE = Path(__file__).parent / "data" / "carbon_mbd_reference.json"
"""pymbd's energies of a few carbon structures (written by ``python -m localbook.atoms.mbd reference``)."""


def _pymbd_energy(atoms: Atoms, variant: str, nfreq: int = 60, beta: float = BETA_PBE) -> float:
    """MBD energy (eV) of ``atoms`` by pymbd's NumPy implementation (``pymbd.pymbd``), at the Gamma point for a
    cell: its ``screening`` (rsSCS; ``nfreq`` Gauss-Legendre points) and ``dipole_matrix(..., 'fermi,dip')``
    (Ewald summation), with free-atom Tkatchenko-Scheffler carbon. Needs pymbd (see DESIGN.md's traps)."""
    from pymbd.pymbd import dipole_matrix, screening

    coords = atoms.get_positions() / Bohr
    lattice = np.asarray(atoms.cell) / Bohr if atoms.pbc.any() else None
    n = len(atoms)
    alpha, c6, r_vdw = np.full(n, CARBON_TS.alpha0), np.full(n, CARBON_TS.c6), np.full(n, CARBON_TS.r_vdw)
    if variant == "rsscs":
        alpha, c6, r_vdw = screening(coords, alpha, c6, r_vdw, beta, lattice=lattice, nfreq=nfreq)
    omega = 4 / 3 * c6 / alpha**2
    pre = np.repeat(omega * np.sqrt(alpha), 3)
    t = dipole_matrix(coords, "fermi,dip", R_vdw=r_vdw, beta=beta, lattice=lattice)
    lam = np.linalg.eigvalsh(np.diag(np.repeat(omega**2, 3)) + np.outer(pre, pre) * t)
    return float((0.5 * np.sqrt(lam).sum() - 1.5 * omega.sum()) * Hartree)


def _atoms_record(atoms: Atoms) -> dict:
    return {"positions_angstrom": atoms.get_positions().tolist(), "cell_angstrom": np.asarray(atoms.cell).tolist(),
            "pbc": [bool(p) for p in atoms.pbc]}


def _record_atoms(record: dict) -> Atoms:
    n = len(record["positions_angstrom"])
    return Atoms(f"C{n}", positions=record["positions_angstrom"], cell=record["cell_angstrom"], pbc=record["pbc"])


def reference_comparison(path=None, device=None) -> list[dict]:
    """This module's energies against pymbd's stored ones (:data:`REFERENCE`): one dict per structure and
    variant with ``structure``, ``atoms``, ``variant``, ``ours`` and ``pymbd`` (eV) and ``difference`` (eV)."""
    import json

    from localbook.data.artefacts import verified_path

    source = verified_path("carbon_rsscs_reference") if path is None else Path(path)
    records = json.loads(source.read_text())
    rows = []
    for name, record in records["structures"].items():
        atoms = _record_atoms(record)
        for variant, theirs in record["pymbd_ev"].items():
            ours = float(mbd_energy(atoms, variant=variant, device=device))
            rows.append({"structure": name, "atoms": len(atoms), "variant": variant, "ours": ours,
                         "pymbd": theirs, "difference": ours - theirs})
    return rows


def _reference_structures(extra: list[Atoms]) -> dict[str, Atoms]:
    from ase.build import bulk, molecule
    from ase.lattice.hexagonal import Graphite

    diamond = bulk("C", "diamond", a=3.9, cubic=True)
    diamond.rattle(0.1, seed=0)
    out = {"C4 cluster": Atoms("C4", positions=[[0, 0, 0], [1.4, 0, 0], [0, 1.5, 0.2], [0.5, 0.3, 1.6]]),
           "C60": molecule("C60"), "graphite cell (4 atoms)": Graphite("C", latticeconstant={"a": 2.46, "c": 6.70}),
           "expanded diamond cell (8 atoms)": diamond}
    for atoms in extra:
        out[f"liquid carbon cell ({len(atoms)} atoms, {atoms.info.get('density_g_cm3', '?')} g/cm3)"] = atoms
    return out


def main(argv=None) -> None:
    import argparse
    import json
    from importlib.metadata import PackageNotFoundError, version

    from ase.io import read

    parser = argparse.ArgumentParser(prog="python -m localbook.atoms.mbd",
                                     description="Store pymbd's MBD energies of a few carbon structures.")
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference", help="needs pymbd importable (e.g. PYTHONPATH=<pymbd sdist>/src)")
    ref.add_argument("--out", default=str(REFERENCE))
    ref.add_argument("--extra", nargs="*", default=[], help="extxyz files of cells to add (first frame of each)")
    ref.add_argument("--note", default="", help="where the extra cells come from")
    args = parser.parse_args(argv)
    import pymbd

    try:
        pymbd_version = version("pymbd")
    except PackageNotFoundError:  # an unpacked sdist on PYTHONPATH: its PKG-INFO says which
        info = Path(pymbd.__file__).parents[2] / "PKG-INFO"
        lines = info.read_text().splitlines() if info.exists() else []
        pymbd_version = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Version:")), "?")
    structures = _reference_structures([read(path, index=0) for path in args.extra])
    out = {"source": f"pymbd {pymbd_version}: pymbd.pymbd (libMBD's NumPy reference), screening nfreq=60, "
                     "dipole_matrix 'fermi,dip' with Ewald summation for cells, beta 0.83, free TS carbon",
           "command": "python -m localbook.atoms.mbd reference" + "".join(f" --extra {' '.join(args.extra)}"
                                                                         for _ in args.extra[:1]),
           "extra_structures_from": args.note,
           "structures": {name: {**_atoms_record(a), "pymbd_ev": {v: _pymbd_energy(a, v) for v in VARIANTS}}
                          for name, a in structures.items()}}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
