"""Chapter 00, the curse of dimensionality (thesis ch. 1): its settings at each scale.

The thesis states the curse qualitatively ("dimensions D above 10 are already too high", ch. 1.1) and runs no
such synthetic experiment, so the "thesis" preset is this chapter at the size a GPU affords (n up to 2^20 for
k-NN, 16,384 for kernel ridge), not a setting of the thesis.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from localbook.chapters import quick_run_seconds
from localbook.params import Presets, Setting

_NOT_RUN = "not run (ch. 1 is qualitative)"


def _combination(v: dict) -> list[str]:
    problems = []
    if v["n_train_max"] < 2 * v["n_train_min"]:
        problems.append(f"n_train_max ({v['n_train_max']}) must be at least 2 x n_train_min ({v['n_train_min']}): "
                        "the learning curve needs two sizes")
    if v["separable_dim"] % v["block_dim"]:
        problems.append(f"block_dim ({v['block_dim']}) must divide separable_dim ({v['separable_dim']})")
    if v["krr_n_max"] < v["n_train_min"]:
        problems.append(f"krr_n_max ({v['krr_n_max']}) must be at least n_train_min ({v['n_train_min']})")
    return problems


def _sizes(v: dict, largest: int) -> np.ndarray:
    n = v["n_train_min"] * 2 ** np.arange(int(np.log2(v["n_train_max"] / v["n_train_min"])) + 1)
    return n[n <= largest].astype(float)


def _work(v: dict) -> float:
    """Floating-point operations: k-NN distances (3 per coordinate) over every size and dimension, then the two
    kernel ridge regressions (kernel matrix and Cholesky) and the affine fit over the kernel sizes."""
    knn = sum(3.0 * v["n_test"] * _sizes(v, v["n_train_max"]).sum() * D for D in v["dims"])
    n = _sizes(v, v["krr_n_max"])
    krr = 2 * np.sum(n**3 / 3 + 3 * n**2 * v["separable_dim"] + 3 * n * v["n_test"] * v["separable_dim"])
    return float(knn + krr)


def _memory_gb(v: dict) -> float:
    """The largest arrays: a k-NN batch of 1,024 test points against every training point, and a kernel
    matrix with its Cholesky factor (float64)."""
    return max(1024 * v["n_train_max"] * 8, 2 * v["krr_n_max"] ** 2 * 8) / 1e9 + 0.5


PRESETS = Presets("00_local_methods", {
    "dims": Setting([int, 1, 256], quick=[1, 2, 4, 8, 16], medium=[1, 2, 4, 8, 16, 32], smoke=[1, 8],
                    thesis_value=_NOT_RUN, help="input dimensions D of the generic-target experiment"),
    "n_train_min": Setting((int, 2, 10**7), quick=64, thesis_value=_NOT_RUN, help="smallest training set"),
    "n_train_max": Setting((int, 4, 10**8), quick=16_384, medium=262_144, thesis=1_048_576, smoke=512,
                           thesis_value=_NOT_RUN, help="largest training set of k-NN (powers of two in between)"),
    "n_test": Setting((int, 10, 10**6), quick=2000, medium=5000, thesis=10_000, smoke=200, thesis_value=_NOT_RUN,
                      help="test points per experiment"),
    "k_neighbours": Setting((int, 1, 100), quick=1, thesis_value=_NOT_RUN, help="k of k-nearest-neighbour regression"),
    "separable_dim": Setting((int, 2, 256), quick=16, thesis_value=_NOT_RUN,
                             help="D of the separable-target experiment"),
    "block_dim": Setting((int, 1, 16), quick=2, thesis_value=_NOT_RUN,
                         help="D_k, dimension of each sub-variable (blocks of neighbouring coordinates)"),
    "krr_n_max": Setting((int, 16, 65_536), quick=4096, medium=8192, thesis=16_384, smoke=256,
                         thesis_value=_NOT_RUN, help="largest training set of kernel ridge (an n x n Cholesky)"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
    reference_seconds=partial(quick_run_seconds, "00_local_methods"))
