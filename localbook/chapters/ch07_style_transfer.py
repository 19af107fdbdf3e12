"""Chapter 07, style transfer as a computational catalyst (thesis ch. 6.2): its settings at each scale.

The thesis' figures are several hundred pixels wide and run to convergence; "thesis" is that size and those
iteration counts (STROTSS' own settings where the thesis gives none), for a GPU. "quick" is a 96-pixel sketch
of every experiment; the behaviours (bounds, fixed points, drift) are what the chapter measures.
"""
from __future__ import annotations

from functools import partial

from localbook.chapters import quick_run_seconds
from localbook.params import Presets, Setting


def _work(v: dict) -> float:
    """VGG passes over size^2 pixels: Gatys' and STROTSS' optimisation steps (STROTSS over its scales, each a
    quarter of the next), the recursions of both methods, the portrait's grid of squares; plus the optimal
    transport experiment (n_samples^2 per Sinkhorn iteration)."""
    pixels = v["size"] ** 2
    strotss = v["strotss_steps"] * sum(4.0 ** -k for k in range(v["strotss_scales"]))
    vgg = pixels * (v["gatys_steps"] + strotss + v["opt_iterations"] * v["gatys_steps"] + v["ff_iterations"]
                    + v["grid"] ** 2 * v["gatys_steps"])
    return float(vgg * 3e4 + v["sinkhorn_iter"] * v["n_samples"] ** 2)  # ~3e4 operations per pixel through VGG-16


def _memory_gb(v: dict) -> float:
    """VGG-16 activations with their gradients for one image (~1.2 kB per pixel in float32), plus the model."""
    return v["size"] ** 2 * 1.2e3 * 2 / 1e9 + 0.8


PRESETS = Presets("07_style_transfer", {
    "size": Setting((int, 16, 1024), quick=96, medium=192, thesis=512, smoke=32, thesis_value="~512 px outputs",
                    help="image side in pixels"),
    "gatys_steps": Setting((int, 1, 5000), quick=15, medium=100, thesis=500, smoke=2,
                           thesis_value="to convergence (~500)", help="L-BFGS iterations of Gatys' method"),
    "strotss_steps": Setting((int, 1, 2000), quick=15, medium=100, thesis=200, smoke=2,
                             thesis_value="STROTSS: 200 per scale", help="Adam steps per scale (STROTSS-like)"),
    "strotss_scales": Setting((int, 1, 6), quick=2, medium=3, thesis=4, smoke=1, thesis_value="STROTSS: 4-5",
                              help="coarse-to-fine scales"),
    "n_samples": Setting((int, 16, 8192), quick=128, medium=512, thesis=1024, smoke=32,
                         thesis_value="STROTSS: 1,024 or more", help="hypercolumns sampled per step"),
    "sinkhorn_eps": Setting((float, 1e-5, 10.0), quick=1e-3, thesis_value="1e-3 (fig. 6.10)",
                            help="entropic regularisation of the Sinkhorn distance"),
    "sinkhorn_iter": Setting((int, 1, 10_000), quick=50, thesis_value="50 (fig. 6.10)",
                             help="Sinkhorn iterations"),
    "ff_iterations": Setting((int, 1, 1000), quick=8, medium=32, thesis=200, smoke=2,
                             thesis_value="hundreds (videos)",
                             help="iterates of x_(t+1) = f(x_t, x_t), feed-forward network"),
    "opt_iterations": Setting((int, 1, 50), quick=2, medium=4, thesis=4, smoke=1, thesis_value="4 (fig. 6.13)",
                              help="iterates of the recursion, optimisation method"),
    "grid": Setting((int, 1, 8), quick=2, medium=3, thesis=3, smoke=2, thesis_value="3 x 3 (fig. 6.15)",
                    help="pixelizing portrait: grid x grid squares"),
}, work=_work, memory_gb=_memory_gb, reference_seconds=partial(quick_run_seconds, "07_style_transfer"))
