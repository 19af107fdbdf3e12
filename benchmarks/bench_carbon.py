"""Benchmark: the carbon database's Langevin MD run by LAMMPS itself versus ASE stepping LAMMPS.

Same physics in both (Tersoff carbon from ``SiC.tersoff``, 3,000 K, 1 fs steps, friction 0.01 / fs, a
cubic cell at 1.5 g/cm^3): :func:`localbook.atoms.carbon.lammps_langevin_snapshots` (``fix nve`` +
``fix langevin`` inside LAMMPS) against :func:`localbook.atoms.carbon.langevin_snapshots` (ASE's ``Langevin``
calling LAMMPS through ``LAMMPSlib`` for the forces at every step). Prints the best of ``--repeats`` times of
each and the ratio ASE / LAMMPS. Needs ``pip install 'localbook[md]'``.

    python benchmarks/bench_carbon.py [--n-atoms 256] [--ps 0.5] [--repeats 2]
"""
from __future__ import annotations

import argparse

from localbook.atoms import carbon
from localbook.device import best_of


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-atoms", type=int, default=256)
    ap.add_argument("--ps", type=float, default=0.5, help="simulated time per call (ps)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    start = carbon.initial_cell(args.n_atoms, 1.5, seed=0)
    half = args.ps / 2
    t_lmp, _ = best_of(lambda: carbon.lammps_langevin_snapshots(start, 1, half, half, seed=0), args.repeats)
    t_ase, _ = best_of(lambda: carbon.langevin_snapshots(start, 1, half, half, seed=0), args.repeats)
    steps = int(round(args.ps * 1000))
    print(f"{args.n_atoms} atoms, {steps} steps of 1 fs")
    print(f"LAMMPS fix langevin : {t_lmp:.2f} s ({1e3 * t_lmp / steps:.3f} ms/step)")
    print(f"ASE Langevin + LAMMPSlib: {t_ase:.2f} s ({1e3 * t_ase / steps:.3f} ms/step)")
    print(f"ratio ASE / LAMMPS: {t_ase / t_lmp:.1f}")


if __name__ == "__main__":
    main()
