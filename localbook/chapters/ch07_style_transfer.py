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
    """VGG forward and backward passes over size^2 pixels, in units of one Adam step of STROTSS at full size
    (about 1.1 s at 96 px on this 2-core machine, its transport cost over ``n_samples`` hypercolumns included;
    an L-BFGS iteration of Gatys' method took 0.1-0.5 s, counted 0.3): Gatys' method twice (HED and random
    VGG), STROTSS twice (REMD and Sinkhorn) over its scales, each a quarter of the next, and the optimisation
    recursion (STROTSS with half the steps on the half-size content); Magenta's feed-forward passes (recursion
    and portrait) are about 1 % of a step each; plus the optimal transport experiment (n_samples^2 per Sinkhorn
    iteration)."""
    pixels = v["size"] ** 2
    pyramid = sum(4.0 ** -k for k in range(v["strotss_scales"]))
    steps = (0.3 * 2 * v["gatys_steps"] + 2 * v["strotss_steps"] * pyramid
             + v["opt_iterations"] * max(1, v["strotss_steps"] // 2) * pyramid / 4
             + 0.01 * (v["ff_iterations"] + v["grid"] ** 2))
    return float(pixels * steps * 3e4 + v["sinkhorn_iter"] * v["n_samples"] ** 2)  # ~3e4 operations per pixel


def _memory_gb(v: dict) -> float:
    """Per pixel of one image, about 8 kB: VGG-16's activations and their gradients (~1 kB per pixel in float32
    for the forward pass) and STROTSS' hypercolumns, every layer's channels (~1,500) upsampled to full size
    (~6 kB); plus the interpreter, the networks and onnxruntime (the quick run peaked at 0.92 GB at 96 px)."""
    return v["size"] ** 2 * 8e3 / 1e9 + 0.85


PRESETS = Presets("07_style_transfer", {
    "size": Setting((int, 16, 1024), quick=96, medium=256, thesis=512, smoke=32, thesis_value="~512 px outputs",
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
