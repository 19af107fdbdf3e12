"""Chapter 03, long-range carbon energies (thesis ch. 2.4-2.6): its settings at each scale.

The database is the dominant choice: ``"quick"`` (shipped: 500 cells of 256 atoms) at the quick scale, ``"medium"``
(1,000 cells of 500 atoms: the first 40 snapshots of each of the thesis database's 25 MD runs) and ``"thesis"`` (2,500
cells of 500 atoms: 25 runs x 100 snapshots), both built by the command of
:func:`localbook.atoms.carbon.database_command`. The medium scale is what a two-core machine builds and regresses in one
sitting (the thesis database alone takes several hours of one core to build); it also takes smaller SOAP kernels (8
radial functions and degrees instead of 10, 300 representatives instead of 1,000, chosen among 20,000 environments
instead of all). The chapter prints the cost estimate of :func:`_work` at the scale it runs. The thesis does not state
the widths of its Gaussians and wavelets; the quick preset narrows the scales to fit 256-atom cells (the widest wavelet
must fit in half a cell), the medium and thesis presets use the thesis' scales with ``sigma_w = 0.5`` Å so that ``2^4
sigma_w = 8`` Å fits in half the smallest 500-atom cell (17.2 Å)."""
from __future__ import annotations

import math
from functools import partial

from localbook.atoms.carbon import DATABASES, cell_side_angstrom, database_manifest, database_spec
from localbook.chapters import quick_run_seconds
from localbook.params import Presets, Setting

_NOT_STATED = "not stated"


def database_size(database: str) -> tuple[int, int] | None:
    """``(atoms per cell, snapshots per run)`` of a named database, or of a built one from its manifest; ``None``
    when unknown (a path without a manifest)."""
    if database in DATABASES:
        spec = database_spec(database)
        return min(spec.n_atoms), spec.snapshots_per_run
    spec = (database_manifest(database) or {}).get("spec")
    if spec is None:
        return None
    return min(spec["n_atoms"]), spec["snapshots_per_run"]


def _combination(v: dict) -> list[str]:
    problems = []
    size = database_size(v["database"])
    if size is not None:
        n_atoms, snapshots = size
        half = cell_side_angstrom(n_atoms, max(v["densities"])) / 2
        widest = 2 ** max(v["scattering_js"]) * v["sigma_w_angstrom"]
        if widest > half * (1 + 1e-9):
            problems.append(f"the widest wavelet 2^{max(v['scattering_js']):g} x sigma_w_angstrom "
                            f"({v['sigma_w_angstrom']:g}) = {widest:.2f} Å is wider than half the smallest cell of "
                            f"database {v['database']!r} ({half:.2f} Å at {max(v['densities']):g} g/cm3): lower the "
                            "largest of scattering_js or sigma_w_angstrom")
        if v["snapshots_per_run"] > snapshots:
            problems.append(f"snapshots_per_run ({v['snapshots_per_run']}) exceeds the {snapshots} snapshots per run "
                            f"of database {v['database']!r}")
    if max(v["curve_snapshots"]) > v["snapshots_per_run"]:
        problems.append(f"curve_snapshots go up to {max(v['curve_snapshots'])}, more than snapshots_per_run "
                        f"({v['snapshots_per_run']})")
    if v["n_sparse"] > v["soap_candidates"]:
        problems.append(f"n_sparse ({v['n_sparse']}) must not exceed soap_candidates ({v['soap_candidates']})")
    return problems


def _cells_atoms(v: dict) -> tuple[int, int]:
    n_atoms = (database_size(v["database"]) or (500, 0))[0]
    return 5 * len(v["densities"]) * v["snapshots_per_run"], n_atoms


def _soap_features(v: dict) -> int:
    return v["soap_n_max"] * (v["soap_n_max"] + 1) // 2 * (v["soap_l_max"] + 1)


def _work(v: dict) -> float:
    """Floating-point operations of the dominant steps: the SOAP power spectra and kernels of every environment
    (two kernels; six SOAP fits per learning-curve point, 5 folds, plus the table's 15), and the scattering FFTs
    (grid points x log x filters, the cell at 1.5 g/cm^3 as the average)."""
    cells, atoms = _cells_atoms(v)
    features = _soap_features(v)
    fits = 15 + 15 * len(v["curve_snapshots"])
    soap = 2 * cells * atoms * (200 * features + fits * v["n_sparse"] * features * 2)
    side = cell_side_angstrom(atoms, 1.5)
    grid = (side / v["spacing_angstrom"]) ** 3
    n_filters = len(v["scattering_js"]) * (v["scattering_L"] + 1) ** 2
    scattering = cells * grid * 5 * math.log2(grid) * n_filters * len(v["scattering_js"])
    return float(soap + scattering)


def _memory_gb(v: dict) -> float:
    """The SOAP environments of every cell for both kernels (memoised), plus one chunk of kernel values."""
    cells, atoms = _cells_atoms(v)
    return (2 * cells * atoms * _soap_features(v) * 8 + 50_000 * v["n_sparse"] * 8 * 2) / 1e9 + 1.0


PRESETS = Presets("03_graphite_regression", {
    "database": Setting((str,), quick="quick", medium="medium", thesis="thesis",
                        thesis_value="2,500 cells of 460-512 atoms (GAP MD; not public)",
                        help="'quick' (shipped, 256 atoms), 'medium' (1,000 cells) or 'thesis' (2,500 cells) of "
                             "500 atoms, built by their command, or a path"),
    "densities": Setting([float, 0.5, 3.5], quick=[1.0, 1.25, 1.5, 1.75, 2.0], smoke=[1.0, 2.0],
                         help="densities kept (g/cm^3)"),
    "snapshots_per_run": Setting((int, 1, 1000), quick=20, medium=DATABASES["medium"]["snapshots_per_run"],
                                 thesis=DATABASES["thesis"]["snapshots_per_run"], smoke=2,
                                 help="snapshots of each MD run used"),
    "scattering_js": Setting([float, 0.0, 6.0], quick=[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
                             medium=[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0], smoke=[0.0, 1.0],
                             help="wavelet scales j (width 2^j sigma_w)"),
    "scattering_L": Setting((int, 0, 6), quick=3, smoke=1, help="degrees l = 0..L"),
    "scattering_qs": Setting([float, 0.25, 4.0], quick=[1.0, 2.0], help="integral powers q"),
    "scattering_max_order": Setting((int, 0, 2), quick=2, smoke=1, help="scattering orders 0..max"),
    "sigma_angstrom": Setting((float, 0.1, 2.0), quick=0.5, thesis_value=_NOT_STATED,
                              help="Gaussian width of the atomic densities (Å)"),
    "sigma_w_angstrom": Setting((float, 0.1, 4.0), quick=0.8, medium=0.5, thesis_value=_NOT_STATED,
                                help="width of the smallest wavelet, j = 0 (Å)"),
    "spacing_angstrom": Setting((float, 0.05, 1.0), quick=0.5, smoke=0.8, thesis_value=_NOT_STATED,
                                help="largest grid step (Å)"),
    "soap_n_max": Setting((int, 1, 16), quick=6, medium=8, thesis=10, smoke=2, help="SOAP radial functions"),
    "soap_l_max": Setting((int, 0, 16), quick=6, medium=8, thesis=10, smoke=2, help="SOAP angular degrees"),
    "n_sparse": Setting((int, 2, 100_000), quick=100, medium=300, thesis=1000, smoke=10,
                        help="representative environments per SOAP kernel (CUR)"),
    "soap_candidates": Setting((int, 2, 10**8), quick=10_000, medium=20_000, thesis=10**7, smoke=2000,
                               thesis_value="all", help="training environments CUR chooses among"),
    "soap_alphas": Setting([float, 0.0, 1e12], quick=[1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0],
                           smoke=[1e-3, 1e-1], thesis_value="5e-5 (one, Bayesian)",
                           help="regularisation grid of each SOAP kernel (eV^2 per unit of w^T K w)"),
    "pair_alphas": Setting([float, 0.0, 1e16], quick=[1e-2, 1.0, 1e2, 1e4, 1e6, 1e8, 1e10], smoke=[1.0, 1e6],
                           thesis_value=_NOT_STATED,
                           help="regularisation grid of the pair potential in the joint fit (eV^2 per eV^2 Å)"),
    "curve_snapshots": Setting([int, 1, 1000], quick=[2, 5, 10, 20], medium=[2, 5, 10, 20, 40],
                               thesis=[5, 10, 20, 50, 100], smoke=[1, 2],
                               thesis_value="none",
                               help="training snapshots per run in the learning curves"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
    reference_seconds=partial(quick_run_seconds, "03_graphite_regression"))
