"""Benchmarks of the carbon database's two costs, each against the peer a user would pick.

* ``md``: the Langevin MD run by LAMMPS itself (:func:`localbook.atoms.carbon.lammps_langevin_snapshots`, ``fix
  nve`` + ``fix langevin``) against ASE's ``Langevin`` stepping LAMMPS through ``LAMMPSlib`` for the forces at
  every step (:func:`localbook.atoms.carbon.langevin_snapshots`); same physics (Tersoff carbon from
  ``SiC.tersoff``, 3,000 K, 1 fs steps, friction 0.01 / fs, a cubic cell at 1.5 g/cm^3). Needs
  ``pip install 'localbook[md]'``.
* ``mbd``: the MBD@rsSCS energy (:func:`localbook.atoms.mbd.mbd_energy`, torch) against pymbd's NumPy
  implementation (libMBD's Python reference, the only MBD@rsSCS a ``pip`` user can run without compiling
  libMBD), on the structures of :data:`localbook.atoms.mbd.REFERENCE` (C60, two 64-atom liquid-carbon cells)
  and a 256-atom cell of the shipped database (ours only: pymbd loops over image cells in Python and takes
  minutes there). pymbd's PyPI metadata is invalid (see DESIGN.md): put an unpacked sdist on ``PYTHONPATH``;
  without it, only our times are printed.
* ``pair``: every periodic pair distance within 10 Å of a 500-atom cell at 2 g/cm^3 (the pair-potential features
  of chapter 03), :func:`localbook.atoms.pair.pair_distances` (one vectorised pass over the 27 image shifts)
  against ASE's ``neighbor_list("d", ...)``; the two distance sets are checked equal first. Recorded with
  :func:`benchmarks.common.record`.

Prints the best of ``--repeats`` times of each and the ratio peer / ours::

    python benchmarks/bench_carbon.py [md|mbd|pair|all] [--n-atoms 256] [--ps 0.5] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json

from common import alternating_rounds, record  # noqa: I001
from localbook.atoms import carbon, mbd
from localbook.device import best_of


def bench_md(args) -> None:
    start = carbon.initial_cell(args.n_atoms, 1.5, seed=0)
    half = args.ps / 2
    t_lmp, _ = best_of(lambda: carbon.lammps_langevin_snapshots(start, 1, half, half, seed=0), args.repeats)
    t_ase, _ = best_of(lambda: carbon.langevin_snapshots(start, 1, half, half, seed=0), args.repeats)
    steps = int(round(args.ps * 1000))
    print(f"MD: {args.n_atoms} atoms, {steps} steps of 1 fs")
    print(f"  LAMMPS fix langevin     : {t_lmp:.2f} s ({1e3 * t_lmp / steps:.3f} ms/step)")
    print(f"  ASE Langevin + LAMMPSlib: {t_ase:.2f} s ({1e3 * t_ase / steps:.3f} ms/step)")
    print(f"  ratio ASE / LAMMPS: {t_ase / t_lmp:.1f}")


def bench_mbd(args) -> None:
    try:
        import pymbd  # noqa: F401
        have_pymbd = True
    except ImportError:
        have_pymbd = False
        print("pymbd is not importable: only this book's times (see the module docstring)")
    records = json.loads(mbd.REFERENCE.read_text())["structures"]
    cases = {name: mbd._record_atoms(r) for name, r in records.items() if len(r["positions_angstrom"]) >= 60}
    cases["shipped database cell (256 atoms, 2.0 g/cm3)"] = carbon.load_database()[-1]
    print("MBD@rsSCS energy of one structure:")
    for name, atoms in cases.items():
        t_ours, e_ours = best_of(lambda a=atoms: float(mbd.mbd_energy(a)), args.repeats)
        line = f"  {name}: this book {t_ours:.2f} s"
        if have_pymbd and len(atoms) <= 64:
            t_ref, e_ref = best_of(lambda a=atoms: mbd._pymbd_energy(a, "rsscs", nfreq=15), args.repeats)
            line += (f", pymbd {t_ref:.2f} s, ratio pymbd / this book {t_ref / t_ours:.1f} "
                     f"(|dE| {abs(e_ours - e_ref):.1e} eV)")
        print(line)


def bench_pair(args) -> None:
    import numpy as np
    from ase.neighborlist import neighbor_list

    from localbook.atoms import pair

    atoms = carbon.initial_cell(500, 2.0, seed=0)
    ours = lambda: pair.pair_distances(atoms, 10.0)  # noqa: E731
    peer = lambda: neighbor_list("d", atoms, 10.0, self_interaction=False)  # noqa: E731
    a, b = np.sort(ours()), np.sort(peer())
    if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=1e-9):
        raise AssertionError(f"pair_distances and ASE disagree: {a.shape} against {b.shape} pairs")
    times = alternating_rounds({"ours": ours, "peer": peer}, max(3, args.repeats))
    record("carbon_pair_distances", title="periodic pair distances within 10 Å, 500-atom cell at 2 g/cm3",
           peer="ase.neighborlist.neighbor_list", ours="localbook.atoms.pair.pair_distances",
           sizes={"atoms": 500, "r_max_angstrom": 10.0, "pairs": int(len(a))}, peer_times=times["peer"],
           ours_times=times["ours"], checks={"same distances (sorted, 1e-9 Å)": True})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", choices=["md", "mbd", "pair", "all"], default="all")
    ap.add_argument("--n-atoms", type=int, default=256, help="atoms of the MD cell")
    ap.add_argument("--ps", type=float, default=0.5, help="simulated time per MD call (ps)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if args.what in ("mbd", "all"):
        bench_mbd(args)
    if args.what in ("md", "all"):
        bench_md(args)
    if args.what in ("pair", "all"):
        bench_pair(args)


if __name__ == "__main__":
    main()
