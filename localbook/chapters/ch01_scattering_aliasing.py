"""Chapter 01, solid harmonic scattering and its aliasing (thesis ch. 2.1-2.2, app. A): its settings at each scale.

The grids are the cost (FFTs of n^3 points). The thesis reads its aliasing figures on "approximately 200
points" (the grid of kymatio's QM7 example, a 96-sigma side) and does not state its other grids; "thesis" takes
grids fine enough to read the Nyquist faces of 200-point grids directly (a GPU or ~20 GB of memory).
"""
from __future__ import annotations

from functools import partial

import numpy as np

from localbook.chapters import quick_run_seconds
from localbook.params import Presets, Setting

_NOT_STATED = "not stated"


def _combination(v: dict) -> list[str]:
    problems = []
    if v["n_grid_pair"] > v["n_grid_single"] * 2:
        problems.append(f"n_grid_pair ({v['n_grid_pair']}) more than twice n_grid_single ({v['n_grid_single']}): "
                        "the one-Gaussian spectra would be the coarser reference; raise n_grid_single")
    return problems


def _fft(n: float) -> float:
    return n**3 * np.log2(max(n, 2.0))


def _work(v: dict) -> float:
    """FFT operations: the one-Gaussian spectra, the two-Gaussian spectra (a few degrees l each), the closed-form
    check and the invariance table (a grid of side box/spacing per spacing, several transforms each)."""
    box_angstrom = 12.0  # the invariance molecule's box, about (the table's cost scales with (box / spacing)^3)
    grids = [_fft(v["n_grid_single"]), 4 * _fft(v["n_grid_pair"]), _fft(v["n_grid_check"])]
    grids += [8 * _fft(box_angstrom / h) for h in v["invariance_spacings"]]
    return float(sum(grids))


def _memory_gb(v: dict) -> float:
    """Peak resident memory, dominated by the two-Gaussian spectra: ``aliasing.gaussians_first_order`` for l = 2..5
    holds about 90 complex128 grids of ``n_grid_pair^3`` (the density, the filter banks of each degree, their
    products), the one-Gaussian spectra about 4 of ``n_grid_single^3``. Both constants were measured (peak RSS of
    each step alone at n = 64, 96 and 128: 95, 89 and 4, 4 grids); the medium run's recorded peak, 11.4 GB, is what
    this gives at n_grid_pair = 192 (the former model, 6 grids, said 2.1 GB)."""
    grid = 16 / 1e9
    return max(90 * grid * v["n_grid_pair"] ** 3, 4 * grid * v["n_grid_single"] ** 3) + 0.4


PRESETS = Presets("01_scattering_aliasing", {
    "n_grid_single": Setting((int, 16, 512), quick=192, medium=256, thesis=384, smoke=48, thesis_value=_NOT_STATED,
                             help="points per side for one-Gaussian spectra"),
    "n_grid_pair": Setting((int, 16, 512), quick=128, medium=192, thesis=256, smoke=32,
                           thesis_value="~200 points reach 1e-6", help="points per side for two-Gaussian spectra"),
    "box_sigma": Setting((float, 8.0, 200.0), quick=24.0, thesis_value=_NOT_STATED,
                         help="side of the periodic box, in units of sigma"),
    "sigma_w_ratio": Setting((float, 0.1, 4.0), quick=0.5, thesis_value="not stated (kymatio QM7 example: 0.5)",
                             help="smallest wavelet width / Gaussian width"),
    "eps_o": Setting((float, 1e-12, 0.9), quick=0.1, thesis_value="eq. 2.3 (kymatio QM7 example: 0.1)",
                     help="overlap precision fixing the two-Gaussian distance"),
    "eps_a": Setting((float, 1e-12, 0.9), quick=1e-3, thesis_value="section 2.2.1", help="aliasing precision"),
    "invariance_spacings": Setting([float, 0.05, 2.0], quick=[0.5, 0.35, 0.25], medium=[0.5, 0.35, 0.25, 0.18],
                                   smoke=[0.6], thesis_value="-", help="grid steps in Å for the invariance table"),
    "n_grid_check": Setting((int, 16, 256), quick=64, medium=96, thesis=128, smoke=32, thesis_value="-",
                            help="points per side for the closed-form check (step sigma/2 at 64)"),
    "qm9_index": Setting((int, 1, 133_885), quick=27, thesis_value="-",
                         help="QM9 index of the molecule for the sigma/Delta conditions (27: O=CC#N)"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
    reference_seconds=partial(quick_run_seconds, "01_scattering_aliasing"))
