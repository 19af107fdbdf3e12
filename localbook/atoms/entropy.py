"""Harmonic vibrational formation entropy of defects (thesis section 3.2, eq. 3.3).

At a local minimum of the energy, the Hessian (eV/A^2) divided by the atomic mass has eigenvalues
``omega_nu^2``; in a periodic cell three of them are the zero modes of the rigid translations. With the
``3N - 3`` non-zero modes of a defective cell (``N_d`` atoms) and of the perfect (bulk) cell of the same
volume (``N_b`` atoms), the harmonic formation entropy in units of k_B is (thesis eq. 3.3)

    S_f / k_B = (N_d / N_b) sum_b ln(hbar omega_b) - sum_d ln(hbar omega_d),

with ``hbar omega`` in eV. A vacancy softens its neighbourhood (positive S_f); interstitials both soften and
stiffen.

Convention. Eq. 3.3 follows from eq. 3.1, ``S = sum_nu [ln(k_B T / hbar omega_nu) + 1]``, only if both cells
count the same number of modes per atom. With the three translations dropped in both cells, the defective
cell keeps ``3 N_d - 3`` modes and the bulk ``(N_d / N_b)(3 N_b - 3)``, and eq. 3.2 leaves a term
``3 (N_d - N_b) / N_b * (ln(k_B T / 1 eV) + 1)`` that eq. 3.3 omits: it depends on the temperature and on the
energy unit of ``hbar omega`` (-0.14 k_B for an I4 in a 128-atom cell at 1,000 K, +0.14 k_B for a V4). This
module follows eq. 3.3 as printed, with ``hbar omega`` in eV, as the thesis' numbers do;
:func:`zero_mode_term` gives the omitted term.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import units

__all__ = ["MinimumCheck", "hessian_eigenvalues", "check_minimum", "log_hbar_omega", "formation_entropy",
           "zero_mode_term", "ZERO_TOL"]

#: eigenvalues (eV/A^2) with |lambda| below this are zero modes; below -ZERO_TOL they are unstable modes.
ZERO_TOL = 1e-6


def hessian_eigenvalues(atoms, potential, device=None) -> torch.Tensor:
    """Ascending eigenvalues (eV/A^2), ``(3N,)``, of the exact Hessian of ``potential`` (an EAMPotential).

    ``torch.linalg.eigvalsh`` of a dense ``(3N, 3N)`` matrix: O(N^3) time, O(N^2) memory. ``device`` defaults
    to the potential's device.
    """
    h = potential.hessian(atoms)
    if device is not None:
        h = h.to(device)
    return torch.linalg.eigvalsh(h)


@dataclass(frozen=True)
class MinimumCheck:
    """Result of :func:`check_minimum`: counts of zero and negative modes."""

    n_zero: int
    n_negative: int

    @property
    def is_minimum(self) -> bool:
        """A minimum of a periodic cell: exactly the three translation zero modes, no negative mode."""
        return self.n_zero == 3 and self.n_negative == 0


def check_minimum(eigenvalues, tol: float = ZERO_TOL) -> MinimumCheck:
    """Count zero (``|lambda| < tol``) and negative (``lambda <= -tol``) Hessian eigenvalues (eV/A^2)."""
    ev = torch.as_tensor(eigenvalues)
    return MinimumCheck(int((ev.abs() < tol).sum()), int((ev <= -tol).sum()))


def log_hbar_omega(eigenvalues, mass: float, tol: float = ZERO_TOL) -> torch.Tensor:
    """``ln(hbar omega / eV)`` of the non-zero modes, ``omega = sqrt(lambda / m)``.

    ``eigenvalues``: Hessian eigenvalues in eV/A^2 (the three smallest |lambda|, the translations, are
    dropped); ``mass`` in amu. Raises if an unstable (negative) mode is present: the harmonic entropy is
    defined only at a minimum.
    """
    ev = torch.as_tensor(eigenvalues, dtype=torch.float64)
    chk = check_minimum(ev, tol)
    if chk.n_negative:
        raise ValueError(f"{chk.n_negative} negative Hessian eigenvalue(s): not a minimum; relax the structure "
                         "(fmax <= 1e-4 eV/A) or discard it (check_minimum counts the rejects)")
    keep = torch.argsort(ev.abs())[3:]
    # omega in ASE units: sqrt(eV / A^2 / amu); hbar in eV * (ASE time unit)
    hw = units._hbar / units._e * torch.sqrt(ev[keep] / mass) * np.sqrt(units._e / units._amu) * 1e10
    return torch.log(hw)


def formation_entropy(eig_defect, n_defect: int, eig_bulk, n_bulk: int, mass: float, tol: float = ZERO_TOL) -> float:
    """Harmonic formation entropy S_f in k_B (thesis eq. 3.3), bulk and defect at the same cell volume.

    ``eig_defect`` (3 n_defect,), ``eig_bulk`` (3 n_bulk,): Hessian eigenvalues (eV/A^2); ``mass`` (amu);
    ``tol``: the zero-mode threshold (eV/A^2) of :func:`check_minimum`.
    """
    ev_d, ev_b = torch.as_tensor(eig_defect), torch.as_tensor(eig_bulk)
    if ev_d.numel() != 3 * n_defect or ev_b.numel() != 3 * n_bulk:
        raise ValueError(f"expected 3N eigenvalues: got {ev_d.numel()} for n_defect={n_defect} and "
                         f"{ev_b.numel()} for n_bulk={n_bulk}")
    s = n_defect / n_bulk * log_hbar_omega(ev_b, mass, tol).sum() - log_hbar_omega(ev_d, mass, tol).sum()
    return float(s)


def zero_mode_term(n_defect: int, n_bulk: int, temperature_k: float) -> float:
    """The term of eq. 3.2 that eq. 3.3 omits (k_B): ``3 (N_d - N_b) / N_b (ln(k_B T / 1 eV) + 1)``.

    Add it to :func:`formation_entropy` for the entropy difference at temperature ``T`` (K) with the three
    translations of each cell removed (see the module docstring).
    """
    if temperature_k <= 0:
        raise ValueError(f"temperature_k={temperature_k} must be positive (kelvin)")
    kt_ev = units.kB * temperature_k
    return float(3 * (n_defect - n_bulk) / n_bulk * (np.log(kt_ev) + 1))
