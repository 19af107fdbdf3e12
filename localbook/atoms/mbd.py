"""Many-body dispersion (MBD) energy of periodic cells and clusters, in torch (thesis ch. 2.4.3).

The thesis' long-range target is the MBD energy of carbon cells {Tkatchenko et al., PRL 108, 236402 (2012)}:
each atom is a quantum harmonic oscillator (QHO) with static polarisability ``alpha_i`` and frequency
``omega_i = 4 C6_i / (3 alpha_i^2)``; the oscillators are coupled by the long-range dipole tensor, and the
energy is the zero-point energy of the coupled system minus that of the free oscillators::

    C_ij = omega_i^2 delta_ij I_3 + omega_i omega_j sqrt(alpha_i alpha_j) T^LR_ij      (3N x 3N)
    E_MBD = 1/2 sum_p sqrt(lambda_p(C)) - 3/2 sum_i omega_i

with ``T^LR_ij = f(r_ij) T_ij``, ``T_ij = -(3 r r^T - r^2 I) / r^5`` the dipole-dipole tensor and
``f(r) = 1 / (1 + exp(-d (r / (beta (R_i + R_j)) - 1)))`` the Fermi damping of range-separated MBD
(``beta = 0.83``, ``d = 6``).

Approximations, all deliberate and stated in the chapter:

* **free-atom parameters**: Tkatchenko-Scheffler free carbon (``alpha_0 = 12.0`` bohr^3,
  ``C6 = 46.6`` Ha bohr^6, ``R_vdW = 3.59`` bohr), with no Hirshfeld rescaling by the electron density
  (there is no DFT calculation here) and **no self-consistent screening** (the "SCS" step of MBD@rsSCS);
* **Gamma point only**: a periodic cell couples each oscillator to the *same-phase* oscillators of all images,
  so ``T_ij`` is summed over lattice translations ``n`` (``i = j`` included, ``n != 0``);
* **real-space summation with a smooth cutoff**: the image sum is truncated by a cosine switch that goes from
  1 at ``r_cut - width`` to 0 at ``r_cut``; dipole sums converge only conditionally, and this spherical
  truncation is the convention used here (convergence with ``r_cut`` is tested).

The two-atom limit is exact in closed form; at long range the energy tends to the damped pairwise sum
``-sum_{i<j} f(r_ij)^2 C6_ij / r_ij^6`` (the second-order term of the expansion of the square roots), with
``C6_ij = 2 C6_i C6_j / (alpha_j/alpha_i C6_i + alpha_i/alpha_j C6_j)``; both are tested. No well-kept
library computes MBD in torch (libmbd is Fortran/C with an MPI build; PyPI ``pymbd`` 0.15.0 has invalid
metadata), hence this implementation.

Units: positions in Å (``ase.Atoms``), energies in eV; the model works in atomic units internally.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from ase import Atoms
from ase.units import Bohr, Hartree

from localbook.checks import check_structures

__all__ = ["QHOParameters", "CARBON_TS", "fermi_damping", "dipole_tensors", "mbd_energy", "mbd_energies",
           "pairwise_dispersion_energy", "lattice_translations"]


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


def _parameters(atoms: Atoms, params: dict[int, QHOParameters] | None) -> list[QHOParameters]:
    params = params or {6: CARBON_TS}
    missing = sorted(set(atoms.numbers.tolist()) - set(params))
    if missing:
        raise ValueError(f"no MBD parameters for atomic number(s) {missing}; pass params={{Z: QHOParameters(...)}}")
    return [params[int(z)] for z in atoms.numbers]


def _qho_tensors(atoms: Atoms, params: dict[int, QHOParameters] | None, device) -> dict[str, torch.Tensor]:
    """Per-atom ``alpha0``, ``c6``, ``omega`` and ``r_vdw`` (atomic units) as float64 tensors on ``device``."""
    par = _parameters(atoms, params)
    return {name: torch.tensor([getattr(p, name) for p in par], dtype=torch.float64, device=device)
            for name in ("alpha0", "c6", "omega", "r_vdw")}


def fermi_damping(r: torch.Tensor, r_vdw_sum: torch.Tensor, beta: float = 0.83, d: float = 6.0) -> torch.Tensor:
    """Fermi damping ``1 / (1 + exp(-d (r / (beta R) - 1)))`` of range-separated MBD (any units, consistent)."""
    return torch.sigmoid(d * (r / (beta * r_vdw_sum) - 1.0))


def _switch(r: torch.Tensor, r_cut: float, width: float) -> torch.Tensor:
    """Smooth cutoff: 1 below ``r_cut - width``, 0 above ``r_cut``, cosine in between."""
    x = ((r - (r_cut - width)) / width).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(math.pi * x))


def lattice_translations(cell: np.ndarray, pbc: Sequence[bool], r_cut: float) -> np.ndarray:
    """All lattice vectors ``n . cell`` (Å) that can bring an image within ``r_cut`` of the cell, ``(M, 3)``.

    The number of repeats along each periodic axis is ``ceil(r_cut / h_k) + 1``, ``h_k`` the distance between
    the lattice planes spanned by the two other vectors (works for any cell shape).
    """
    cell = np.asarray(cell, dtype=float)
    reps = []
    volume = abs(np.linalg.det(cell)) if any(pbc) else 0.0
    for k in range(3):
        if not pbc[k]:
            reps.append(range(1))
            continue
        cross = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
        h = volume / np.linalg.norm(cross)
        m = int(math.ceil(r_cut / h)) + 1
        reps.append(range(-m, m + 1))
    n = np.array(np.meshgrid(*reps, indexing="ij")).reshape(3, -1).T
    return n @ cell


def dipole_tensors(positions_bohr: torch.Tensor, r_vdw: torch.Tensor, translations_bohr: torch.Tensor,
                   r_cut_bohr: float, width_bohr: float, beta: float, d: float) -> torch.Tensor:
    """Damped, image-summed dipole tensors ``T^LR_ij`` as a ``(N, N, 3, 3)`` tensor (atomic units).

    Vectorised over atom pairs; the loop runs over lattice translations (tens to hundreds), accumulating, so
    that memory stays ``O(N^2)``.
    """
    n_atoms = positions_bohr.shape[0]
    t = positions_bohr.new_zeros(n_atoms, n_atoms, 3, 3)
    eye = torch.eye(3, dtype=positions_bohr.dtype, device=positions_bohr.device)
    r_sum = r_vdw[:, None] + r_vdw[None, :]
    diff0 = positions_bohr[:, None, :] - positions_bohr[None, :, :]
    for shift in translations_bohr:
        rvec = diff0 + shift
        r = rvec.norm(dim=-1)
        is_self = r < 1e-8  # the atom itself (i = j, n = 0): no interaction
        r_safe = torch.where(is_self, torch.ones_like(r), r)
        weight = fermi_damping(r_safe, r_sum, beta, d) * _switch(r_safe, r_cut_bohr, width_bohr)
        weight = torch.where(is_self, torch.zeros_like(weight), weight)
        if not torch.any(weight > 0):
            continue
        outer = rvec[..., :, None] * rvec[..., None, :]
        bare = -(3.0 * outer - (r_safe**2)[..., None, None] * eye) / (r_safe**5)[..., None, None]
        t = t + weight[..., None, None] * bare
    return t


def mbd_energy(atoms: Atoms, params: dict[int, QHOParameters] | None = None, beta: float = 0.83, d: float = 6.0,
               r_cut: float = 20.0, cutoff_width: float = 4.0, device=None,
               return_eigenvalues: bool = False):
    """MBD energy (eV) of one structure: a cluster (no periodicity) or a periodic cell (Gamma point).

    ``r_cut`` / ``cutoff_width`` (Å) set the smooth truncation of the image sum (periodic cells only matter;
    a cluster uses all pairs within ``r_cut``). Raises ``ValueError`` if the coupled matrix is not positive
    definite (a "polarisation catastrophe": atoms far too close for these parameters).
    """
    check_structures([atoms], who="mbd_energy")  # coincident atoms or a NaN gave 0.0 eV
    if len(atoms) == 0:
        raise ValueError("mbd_energy needs at least one atom")
    if r_cut <= cutoff_width or cutoff_width <= 0:
        raise ValueError(f"need 0 < cutoff_width < r_cut, got cutoff_width={cutoff_width}, r_cut={r_cut}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    dtype = torch.float64
    qho = _qho_tensors(atoms, params, device)
    alpha, omega, r_vdw = qho["alpha0"], qho["omega"], qho["r_vdw"]
    pbc = atoms.pbc
    if any(pbc) and abs(atoms.cell.volume) < 1e-9:
        raise ValueError("periodic structure with a degenerate cell: set atoms.cell or atoms.pbc = False")
    shifts = lattice_translations(np.asarray(atoms.cell), pbc, r_cut)
    pos = torch.as_tensor(atoms.get_positions() / Bohr, dtype=dtype, device=device)
    shifts = torch.as_tensor(shifts / Bohr, dtype=dtype, device=device)
    t = dipole_tensors(pos, r_vdw, shifts, r_cut / Bohr, cutoff_width / Bohr, beta, d)
    n = len(atoms)
    scale = omega * alpha.sqrt()
    c = (scale[:, None, None, None] * scale[None, :, None, None]) * t
    c = c.permute(0, 2, 1, 3).reshape(3 * n, 3 * n)
    c = c + torch.diag((omega**2).repeat_interleave(3))
    c = 0.5 * (c + c.T)
    eigenvalues = torch.linalg.eigvalsh(c)
    if eigenvalues.min() <= 0:
        raise ValueError(
            f"the MBD coupled matrix has a non-positive eigenvalue ({float(eigenvalues.min()):.3e} Ha^2): "
            "atoms are too close for free-atom parameters (polarisation catastrophe)")
    energy_ha = 0.5 * eigenvalues.sqrt().sum() - 1.5 * omega.sum()
    energy = energy_ha * Hartree
    return (energy, eigenvalues) if return_eigenvalues else energy


def mbd_energies(structures: Iterable[Atoms], progress: bool | None = None, **kwargs) -> np.ndarray:
    """MBD energies (eV) of several structures, as a NumPy array; ``kwargs`` go to :func:`mbd_energy`."""
    from tqdm.auto import tqdm

    structures = list(structures)
    return np.array([float(mbd_energy(a, **kwargs)) for a in
                     tqdm(structures, desc="MBD", disable=(not progress) if progress is not None else None)])


def pairwise_dispersion_energy(atoms: Atoms, params: dict[int, QHOParameters] | None = None, beta: float = 0.83,
                               d: float = 6.0, r_cut: float = 20.0, cutoff_width: float = 4.0,
                               device=None) -> torch.Tensor:
    """The second-order (pairwise) term of MBD: ``-sum_{i<j, images} f(r)^2 s(r)^2 C6_ij / r^6`` (eV).

    For a periodic cell each pair of atoms in the cell and each image pair counts once per cell (image pairs
    of an atom with its own images count half). This is what MBD reduces to when the dipoles are far apart;
    the difference ``E_MBD - E_pair`` is the many-body (non-additive) part.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    dtype = torch.float64
    qho = _qho_tensors(atoms, params, device)
    alpha, c6, r_vdw = qho["alpha0"], qho["c6"], qho["r_vdw"]
    c6_ij = 2 * c6[:, None] * c6[None, :] / (alpha[None, :] / alpha[:, None] * c6[:, None]
                                              + alpha[:, None] / alpha[None, :] * c6[None, :])
    shifts = torch.as_tensor(lattice_translations(np.asarray(atoms.cell), atoms.pbc, r_cut) / Bohr, dtype=dtype,
                             device=device)
    pos = torch.as_tensor(atoms.get_positions() / Bohr, dtype=dtype, device=device)
    r_sum = r_vdw[:, None] + r_vdw[None, :]
    total = torch.zeros((), dtype=dtype, device=device)
    for shift in shifts:
        r = (pos[:, None, :] - pos[None, :, :] + shift).norm(dim=-1)
        is_self = r < 1e-8
        r_safe = torch.where(is_self, torch.ones_like(r), r)
        w = fermi_damping(r_safe, r_sum, beta, d) * _switch(r_safe, r_cut / Bohr, cutoff_width / Bohr)
        term = torch.where(is_self, torch.zeros_like(r), w**2 * c6_ij / r_safe**6)
        total = total - 0.5 * term.sum()
    return total * Hartree
