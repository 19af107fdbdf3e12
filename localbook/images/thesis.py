"""The thesis' numbers for chapters 4 and 5, and the "Thesis versus this book" rows that set them beside ours.

Chapter 4 reports ImageNet accuracies (1,000 classes, top-5 and top-1, table 4.1 and section 4.3); chapter 5
CIFAR-10 accuracies (10 classes, top-1, tables 5.1-5.3, section 5.3.1) and ImageNet-64 ones (tables 5.4, 5.5). The
book runs Fashion-MNIST (or CIFAR-10 where installed), so the comparable quantities are mostly the *gaps*: what an
ablation costs, what a method gains over a baseline. Each function returns rows ``(quantity, thesis, this book,
scale here)`` for :func:`localbook.plotting.thesis_vs_book`.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from localbook.images.experiments import accuracy_cell

__all__ = ["PATCH_CNN_THESIS", "PATCH_KNN_THESIS", "gap_cell", "patch_cnn_thesis_rows", "patch_knn_thesis_rows"]

# Thesis ch. 4 (ImageNet 2012): top-5 / top-1 accuracy in %, table 4.1 and the ablations of section 4.3.
PATCH_CNN_THESIS = {
    "patch network": "84.5 / 63.8",
    "scattering + linear, position-aware": "41.6 / 23.4",
    "scattering + linear, patch-separated": "- (SIFT + Fisher vectors: 74.3 / -)",
    "end-to-end CNN (pixels)": "79.1 / 56.5 (AlexNet)",
    "1x1 patch (one descriptor)": "78.8 / -",
    "order 2 removed": "82.2 / -",
    "order 2 removed, no oversampling": "79.8 / -",
    "order 2 removed, width halved": "80.5 / -",
    "order 2 removed, depth halved": "79.2 / -",
}
# Thesis ch. 5 (CIFAR-10 unless stated): top-1 accuracy in %.
PATCH_KNN_THESIS = {
    "patch k-NN + linear": "82.5 (|D| = 2,048)",
    "patch k-NN + 1 hidden layer": "88.5 (|D| = 2,048)",
    "whole-image k-NN": "58.3",
    "end-to-end CNN (pixels)": "89.1 (AlexNet)",
    "noise dictionary": "78.6",
    "no whitening": "18 top-1 on ImageNet-64 (33.2 with)",
    "soft assignment": "86.9 (|D| = 64,000; 86.7 hard)",
}


def _mean(result) -> float:
    return float(np.mean(result.test_accuracies))


def gap_cell(a, b) -> str:
    """``a - b`` in accuracy points (means over seeds), signed, e.g. ``"+2.3"``; ``"not run"`` when either is
    missing."""
    if a is None or b is None:
        return "not run"
    return f"{100 * (_mean(a) - _mean(b)):+.1f}"


def _cell(result) -> str:
    return "not run" if result is None else accuracy_cell(result.test_accuracies)


def patch_cnn_thesis_rows(results: Mapping[str, object], scale: str) -> list[tuple[str, str, str, str]]:
    """Rows of chapter 05's "Thesis versus this book": the main results (ours top-1) and what each thesis
    ablation costs; ``results`` maps the names of :func:`localbook.images.experiments.patch_cnn_variants` and of
    the baselines to results; ``scale`` describes our run."""
    r = results.get
    reference = "order 2 removed" if "order 2 removed" in results else "patch network"
    rows = [("patch network, top-1 (ImageNet: top-5 / top-1)", "84.5 / 63.8", _cell(r("patch network")), scale),
            ("scattering + linear, position-aware", "41.6 / 23.4", _cell(r("scattering + linear, position-aware")),
             scale),
            ("patch network - scattering + linear (top-5 gain)", "+42.9",
             gap_cell(r("patch network"), r("scattering + linear, position-aware")), scale),
            ("patch network - patch-separated linear", "not measured",
             gap_cell(r("patch network"), r("scattering + linear, patch-separated")), scale),
            ("patch network - end-to-end CNN (AlexNet, top-5)", "+5.4",
             gap_cell(r("patch network"), r("end-to-end CNN (pixels)")), scale),
            ("3 x 3 patch -> 1 x 1 patch (top-5)", "-5.7",
             gap_cell(r("1x1 patch (one descriptor)"), r("patch network")), scale),
            ("order 2 removed (top-5)", "-2.3", gap_cell(r("order 2 removed"), r("patch network")), scale),
            ("no oversampling, from order 2 removed (top-5)", "-2.7",
             gap_cell(r(f"{reference}, no oversampling"), r(reference)), scale),
            ("width halved, from order 2 removed (top-5)", "-1.7",
             gap_cell(r(f"{reference}, width halved"), r(reference)), scale),
            ("depth halved, from order 2 removed (top-5)", "-3.0",
             gap_cell(r(f"{reference}, depth halved"), r(reference)), scale),
            ("pixel logistic regression", "not run", _cell(r("pixel logistic regression")), scale),
            ("whole-image k-NN", "not run", _cell(r("whole-image k-NN")), scale)]
    return rows


def patch_knn_thesis_rows(results: Mapping[str, object], ablations: Mapping[str, object],
                          sweeps: Mapping[str, Mapping], dimensions: Mapping[str, list], scale: str,
                          dimension_scale: str) -> list[tuple[str, str, str, str]]:
    """Rows of chapter 06's "Thesis versus this book": the main results, the gains and drops the thesis measures,
    the largest dictionary run, and ``d_int / d_ext`` after whitening at the largest patch size of each source.
    ``results``: "patch k-NN + linear", "patch k-NN + 1 hidden layer" and the baselines; ``ablations``: "noise
    dictionary", "no whitening", "soft assignment" (absent when not run); ``sweeps``: the output of
    :func:`localbook.images.patch_knn.run_sweeps`; ``dimensions``: of
    :func:`localbook.images.intrinsic_dim.dimensions_of_sources`."""
    r, a = results.get, ablations.get
    linear = r("patch k-NN + linear")
    rows = [("patch k-NN + linear", "82.5 (|D| = 2,048)", _cell(linear), scale)]
    by_size = sweeps.get("n_patches", {})
    if by_size:
        largest = max(by_size)
        rows.append((f"patch k-NN + linear, largest |D| run here ({largest:,})", "86.7 (|D| = 64,000)",
                     _cell(by_size[largest]), scale))
    rows += [("patch k-NN + 1 hidden layer", "88.5", _cell(r("patch k-NN + 1 hidden layer")), scale),
             ("1 hidden layer - linear", "+6.0", gap_cell(r("patch k-NN + 1 hidden layer"), linear), scale),
             ("whole-image k-NN", "58.3", _cell(r("whole-image k-NN")), scale),
             ("patch k-NN + linear - whole-image k-NN", "+24.2", gap_cell(linear, r("whole-image k-NN")), scale),
             ("patch k-NN + linear - pixel logistic regression", "not measured",
              gap_cell(linear, r("pixel logistic regression")), scale),
             ("end-to-end CNN", "89.1 (AlexNet)", _cell(r("end-to-end CNN (pixels)")), scale),
             ("noise dictionary - patches", "-8.1", gap_cell(a("noise dictionary"), linear), scale),
             ("no whitening - whitening", "about -15 (ImageNet-64 top-1)", gap_cell(a("no whitening"), linear), scale),
             ("soft - hard assignment", "+0.2 (|D| = 64,000)", gap_cell(a("soft assignment"), linear), scale)]
    for name, dims in dimensions.items():
        top = dims[-1]
        rows.append((f"d_int / d_ext after whitening, {name}, P = {top['patch_size']}", "about 10 %",
                     f"{100 * top['d_int_whitened'] / top['d_ext']:.3g} %", dimension_scale))
    return rows
