"""Chapter 04, vibrational formation entropies of defects in bcc iron (thesis ch. 3): its settings at each scale.

The databases are the book's own (:mod:`localbook.atoms.defect_database`, both shipped: 1,110 verified minima
for AM04 and 1,154 for the MEAM, in 128- and 250-atom cells), not the thesis' 40,656 ART configurations of
1,024-3,456 atoms: the "medium" preset uses all of them, the "quick" one a subset of each that keeps whole defects
(all strained copies of each) and every kind, sized so that both potentials run in a few minutes on 2 cores; the
"thesis" preset differs from "medium" only where the thesis' own setting can be run on these databases. A larger
database is one command away (``python -m localbook.atoms.defect_database build``, about an hour of CPU per
thousand MEAM minima), then ``-p database_dir <folder>``.
"""
from __future__ import annotations

from functools import partial

from localbook.chapters import quick_run_seconds
from localbook.params import Choice, ListOf, Presets, Setting

_ALL = 1_000_000
_DATABASE_SIZE = 1_130    # minima per shipped database, about (AM04 1,110, MEAM 1,154)

FAMILY = ("I2", "I3", "I4", "V4")
"""The defect kinds of the thesis' first experiments (figs. 3.1-3.3, table 3.1)."""

THESIS_FAMILY_ENTROPIES = {
    "AM04": {"I2": (4.08, 1.70, 423), "I3": (5.94, 2.29, 1102), "I4": (7.98, 2.36, 1280), "V4": (10.22, 0.85, 1698)},
    "MEAM": {"I2": (10.33, 0.82, 423), "I3": (13.81, 1.87, 1104), "I4": (15.88, 1.67, 1279), "V4": (17.55, 1.92, 1700)},
}
"""Mean, standard deviation (k_B) and count of the thesis' formation entropies of the I2-I4 and V4 clusters in
1,024-atom cells, computed here from the files the authors published with their AFS code (github.com/louity/
AFS-python, ``entropies_EAM.npz`` and ``entropies_MEAM.npz``, non-zero entries): the thesis' own data, as a
reference for the entropy scale of each potential."""


SCATTERING_SIGMA = """Why the scattering's Gaussians are 0.3 Å wide (measured, not from the thesis, which does not
state the width): on the AM04 database's 288 unstrained 128-atom I2-I4 + V4 cells, grouped 5-fold CV, ridge with a
cross-validated penalty (``python tools/iron_scattering_sigma.py``, 2026-11-30), the scattering's RMSE was 1.57 k_B
at sigma = 0.5 Å (the kind mean's 1.85; the Gaussians of the closest pair, 2.02 Å apart, overlap by 0.13 at
mid-distance, above the thesis' eps_o = 0.1), 1.33 at 0.4, 0.85 at 0.3 (overlap 3.5e-3), 0.88 at 0.25 and 0.73 at
0.2 Å (AFS: 0.96). 0.3 Å is where the error stops falling steeply at a cost this CPU affords (0.08 s per cell; 0.24 s
and about 3x the memory at 0.2 Å). Bayesian ridge (the thesis' model) stayed at the kind mean's error at every
width (1.70-1.84): its evidence maximisation over-regularises these nearly collinear coefficients (condition
number of the standardised matrix 1e17), so the chapter reports both fits."""


def _combination(v: dict) -> list[str]:
    problems = []
    if v["small_n_max"] > v["n_max"] or v["small_l_max"] > v["l_max"]:
        problems.append(f"small_n_max, small_l_max ({v['small_n_max']}, {v['small_l_max']}) must not exceed "
                        f"n_max, l_max ({v['n_max']}, {v['l_max']}): the small AFS is a truncation of the full one")
    if v["scat_configs"] > v["max_configs"]:
        problems.append(f"scat_configs ({v['scat_configs']}) must not exceed max_configs ({v['max_configs']})")
    if 0.0 not in v["scan_strains"]:
        problems.append(f"scan_strains {v['scan_strains']} must contain 0.0, the relaxed defect the scan starts from")
    return problems


def _work(v: dict) -> float:
    """Seconds on the reference machine, one thread, measured on the quick run of 2026-11-30 (both databases, 398 +
    397 configurations: 74 s in all): the AFS 0.024 s per configuration at (20, 10) (the fits on those features add
    about 2 s), the scattering 0.16 s per unstrained 128-atom family cell at sigma = 0.3 Å (the periodic-cell route of
    :mod:`localbook.scattering3d`, grid step sigma / 1.5, so the cost grows as sigma^-3), a strain-scan point 0.3 s
    for AM04's vacancy (three Hessian routes) and 0.8 s for the MEAM's (LAMMPS finite differences), 15 s for the rest
    (imports, potentials, the worked example). The family's unstrained 128-atom cells are about a quarter of each
    database (288 of AM04's 1,110, 268 of the MEAM's 1,154)."""
    configs = min(v["max_configs"], _DATABASE_SIZE) * len(v["potentials"])
    afs = 0.024 * (v["n_max"] * (v["l_max"] + 1) / 220) ** 0.5 * configs
    cells = min(v["scat_configs"], 0.26 * min(v["max_configs"], _DATABASE_SIZE)) * len(v["potentials"])
    scat = 0.16 * (0.3 / v["scat_sigma"]) ** 3 * cells
    scan = len(v["scan_strains"]) * (0.3 + 0.8 * v["scan_meam"])
    return afs + scat + scan + 15.0


def _memory_gb(v: dict) -> float:
    """Peak memory measured at quick without the scattering, 1.5 GB (torch, LAMMPS, the database, the AFS of 128-
    and 250-atom cells), plus the dense Hessians of the worked example (bulk and defect, float64, with copies),
    plus the scattering's filter bank and batches of two cells: 4.5 GB measured at sigma = 0.3 Å (a process
    computing 24 cells peaked at 6.0 GB), growing as sigma^-3 with the grid. One bank at a time: the scattering route
    of :func:`localbook.atoms.surrogate.formation_features` forgets its bank before the other potential's cells
    (another lattice parameter, another box), without which the quick run peaked at 10.5 GB."""
    scattering = 4.5 * (0.3 / v["scat_sigma"]) ** 3 if v["scat_configs"] else 0.0
    return 1.5 + 4 * (6 * v["demo_cells"] ** 3) ** 2 * 8 / 1e9 + scattering


PRESETS = Presets("04_entropy_surrogate", {
    "potentials": Setting(ListOf(Choice("AM04", "MEAM"), 1, 2), quick=["AM04", "MEAM"],
                          thesis_value="[AM04, MEAM (Etesami-Asadi 2018)]",
                          help="databases: AM04 (tabulated EAM), MEAM (2NN MEAM of Lee et al. 2001)"),
    "max_configs": Setting((int, 20, _ALL), quick=400, medium=_ALL, smoke=40,
                           thesis_value="40,656 (31,640 ARTn + 9,016 random)",
                           help="configurations used per potential (whole defects; 1,000,000: all)"),
    "n_max": Setting((int, 1, 40), quick=20, smoke=4, help="AFS radial functions"),
    "l_max": Setting((int, 0, 20), quick=10, smoke=3, help="AFS angular order"),
    "r_cut": Setting((float, 2.0, 8.0), quick=5.0, help="AFS cut-off radius (Å)"),
    "small_n_max": Setting((int, 1, 40), quick=4, medium=10, smoke=2, thesis_value="not used (n >> p)",
                           help="radial functions of the small AFS, sized for n >= 3p on the family"),
    "small_l_max": Setting((int, 0, 20), quick=4, medium=9, smoke=1, thesis_value="not used (n >> p)",
                           help="angular order of the small AFS"),
    "scat_configs": Setting((int, 0, _ALL), quick=200, medium=_ALL, smoke=0, thesis_value="4,520 (MEAM family)",
                            help="unstrained 128-atom family cells per potential given the scattering descriptor "
                                 "(0: skipped; 0.08 s per cell at sigma = 0.3 Å)"),
    "scat_L": Setting((int, 0, 12), quick=9, smoke=2, help="largest degree l of the scattering S^{J,L}"),
    "scat_sigma": Setting((float, 0.15, 1.5), quick=0.3, thesis_value="not stated",
                          help="width of the atomic Gaussians and of the j = 0 wavelet (Å); see SCATTERING_SIGMA"),
    "model": Setting(("bayes", "ridge", "group_ridge"), quick="bayes",
                     help="linear model: Bayesian ridge (thesis), ridge (LOO alpha), ridge with grouped-CV alpha"),
    "n_splits": Setting((int, 2, 20), quick=5, smoke=2, help="cross-validation folds (whole defects left out)"),
    "split_repeats": Setting((int, 1, 50), quick=5, medium=10, smoke=2, thesis_value="not stated",
                             help="random splits per training fraction (fig. 3.5a)"),
    "scan_strains": Setting([float, -0.05, 0.05], quick=[-0.01, 0.0, 0.005, 0.01, 0.0125, 0.02, 0.03],
                            medium=[round(-0.01 + 0.0025 * k, 4) for k in range(17)], smoke=[0.0, 0.01],
                            thesis_value="-1, 0, 1, 2, 3 %", help="strains of the audit's re-relaxed vacancy"),
    "scan_meam": Setting((bool,), quick=True, smoke=False, thesis_value="(no audit in the thesis)",
                         help="scan the MEAM vacancy too (LAMMPS finite differences)"),
    "demo_cells": Setting((int, 2, 12), quick=3, smoke=2, thesis_value="8 (1,024 atoms)",
                          help="cubic cell of the worked example, 2 n^3 atoms"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
   reference_seconds=partial(quick_run_seconds, "04_entropy_surrogate"))
