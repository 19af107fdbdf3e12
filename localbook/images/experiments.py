"""Comparisons of models over several seeds, and the tables that report them.

A chapter's comparison is a dict of named :class:`Variant` (how to build the model, its data, its
augmentation); :func:`train_variants` trains each one with the shared loop for every seed (re-seeding torch
before building each model, so that each result reproduces on its own) and returns a :class:`VariantResult`
per name: the histories (training loss, validation curve, final test accuracy) of every seed and the model of
the first. :func:`accuracy_cell` and :func:`comparison_rows` report mean +- standard deviation over the seeds
next to the thesis' number, for these results, the baselines (:mod:`localbook.images.baselines`) and the patch
k-NN results alike -- anything with a ``test_accuracies`` array. :func:`beats_baselines` states the ranking of a
method against its baselines without digits (the check a test can keep when the digits move between machines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch.nn as nn

from localbook.images.training import History, TrainConfig, count_parameters, train_classifier

__all__ = ["Variant", "VariantResult", "train_variants", "PATCH_CNN_ABLATIONS", "patch_cnn_variants",
           "end_to_end_cnn", "accuracy_cell", "comparison_rows", "sweep_rows", "beats_baselines"]


@dataclass
class Variant:
    """One model of a comparison: ``build()`` makes a fresh model (called right after seeding), trained on
    ``train`` and monitored on ``val`` each epoch, tested on ``test`` ((x, y) tensors), with an optional
    per-batch ``augment`` and its own ``config`` (else the comparison's)."""

    build: Callable[[], nn.Module]
    train: tuple
    test: tuple
    val: tuple | None = None
    augment: Callable | None = None
    config: TrainConfig | None = None


@dataclass
class VariantResult:
    """The histories of one variant, one per seed, and the trained model of the first seed."""

    seeds: tuple[int, ...]
    histories: list[History] = field(repr=False)
    model: nn.Module = field(repr=False)
    n_parameters: int = 0

    @property
    def test_accuracies(self) -> np.ndarray:
        return np.array([h.final["top1"] for h in self.histories])

    @property
    def test_accuracy(self) -> float:
        return float(self.test_accuracies.mean())

    @property
    def train_accuracy(self) -> float:
        return float(np.mean([h.final["train_top1"] for h in self.histories]))

    @property
    def seconds(self) -> float:
        """Mean training time of one seed (s)."""
        return float(np.mean([h.seconds for h in self.histories]))


def train_variants(variants: Mapping[str, Variant], config: TrainConfig, seeds: Sequence[int] = (0,),
                   device="cpu", progress: bool | None = None) -> dict[str, VariantResult]:
    """Train every variant for every seed with the same recipe (``config``, or the variant's own), seeding torch
    before building each model; returns ``{name: VariantResult}`` in the given order."""
    from localbook.device import seed_everything

    out = {}
    for name, v in variants.items():
        histories, first = [], None
        for seed in seeds:
            seed_everything(seed)
            model = v.build()
            cfg = (v.config or config).with_(seed=seed)
            histories.append(train_classifier(model, v.train, cfg, val=v.val, test=v.test, augment=v.augment,
                                              device=device, progress=progress))
            if first is None:
                first = model
        out[name] = VariantResult(tuple(seeds), histories, first, count_parameters(first))
    return out


#: The ablations of thesis section 4.3, in its order.
PATCH_CNN_ABLATIONS = ("1x1 patch", "order 2 removed", "no oversampling", "width halved", "depth halved")


def patch_cnn_variants(features: Mapping[str, tuple], images: Mapping[str, tuple], *, in_channels: int,
                       n_classes: int, J: int, max_order: int, oversampling: int, width: int, depth: int,
                       patch: int, cnn_width: int, max_shift: int,
                       ablations: Sequence[str] = PATCH_CNN_ABLATIONS) -> tuple[dict[str, Variant], dict[str, Variant]]:
    """The comparison of thesis chapter 4 on one dataset: ``(main, ablations)`` dicts of :class:`Variant`.

    ``features`` / ``images``: ``{"train" | "val" | "test": (x, y)}`` -- scattering maps of
    :class:`~localbook.images.scattering2d.OversampledScattering2D` (computed up to ``max_order``, with
    ``oversampling``) and the images themselves. Every scattering model is trained with random translations
    of the descriptor grid by up to ``max_shift`` samples; the CNN with translations of the images by the same
    number of pixels (``max_shift * 2**(J - o)``).

    main: the patch network (thesis section 4.2), a linear classifier on the whole scattering tensor
    (position-aware, the thesis' "Scattering + linear"), a linear evidence per position averaged
    (patch-separated), and an end-to-end CNN on pixels. ablations (thesis section 4.3): a 1 x 1 patch (one
    descriptor), and from the model without the order-2 coefficients: no oversampling (every ``2**o``-th
    descriptor, trained on the same translations, :class:`~localbook.images.augment.SubsampledTranslate`),
    half the width, half the depth. Only the ``ablations`` named (of :data:`PATCH_CNN_ABLATIONS`) are built;
    those that coincide with another row (``max_order=1``, ``oversampling=0``, ``depth=1``) are left out.
    """
    from localbook.images.augment import RandomTranslate, SubsampledTranslate
    from localbook.images.patch_cnn import EndToEndCNN, PatchNet, ScatteringLinear, ScatteringPatchLinear
    from localbook.images.scattering2d import select_orders

    c_full, spatial = features["train"][0].shape[1], tuple(features["train"][0].shape[-2:])
    shift, step, stride = RandomTranslate(max_shift), 2 ** oversampling, 2 ** (J - oversampling)

    def on(feats, build, augment=shift):
        return Variant(build, feats["train"], feats["test"], feats["val"], augment)

    main = {
        "patch network": on(features, lambda: PatchNet(c_full, n_classes, width, depth, patch)),
        "scattering + linear, position-aware": on(features, lambda: ScatteringLinear(c_full, spatial, n_classes)),
        "scattering + linear, patch-separated": on(features, lambda: ScatteringPatchLinear(c_full, n_classes)),
        "end-to-end CNN (pixels)": on(images, lambda: EndToEndCNN(in_channels, n_classes, cnn_width),
                                      RandomTranslate(max_shift * stride)),
    }
    order1 = {k: (select_orders(f, in_channels, J, keep_order=1, computed_order=max_order), y)
              for k, (f, y) in features.items()}
    c1 = order1["train"][0].shape[1]
    unknown = sorted(set(ablations) - set(PATCH_CNN_ABLATIONS))
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; choose among {PATCH_CNN_ABLATIONS}")
    reference = "order 2 removed" if max_order == 2 else "patch network"
    built = {}
    if "1x1 patch" in ablations:
        built["1x1 patch (one descriptor)"] = on(features, lambda: PatchNet(c_full, n_classes, width, depth, 1))
    if "order 2 removed" in ablations and max_order == 2:
        built["order 2 removed"] = on(order1, lambda: PatchNet(c1, n_classes, width, depth, patch))
    if "no oversampling" in ablations and oversampling > 0:
        coarse = {k: (f[..., ::step, ::step].contiguous(), y) for k, (f, y) in order1.items()}
        coarse["train"] = order1["train"]               # translated on the fine grid, then subsampled, per batch
        built[f"{reference}, no oversampling"] = on(coarse, lambda: PatchNet(c1, n_classes, width, depth, patch),
                                                    SubsampledTranslate(max_shift, step))
    if "width halved" in ablations:
        built[f"{reference}, width halved"] = on(order1, lambda: PatchNet(c1, n_classes, max(1, width // 2), depth,
                                                                            patch))
    if "depth halved" in ablations and depth > 1:
        built[f"{reference}, depth halved"] = on(order1, lambda: PatchNet(c1, n_classes, width, max(1, depth // 2),
                                                                            patch))
    ablations = built
    return main, ablations


def end_to_end_cnn(train, val, test, width: int, config: TrainConfig, seeds: Sequence[int] = (0,), max_shift: int = 2,
                   device="cpu", progress: bool | None = None) -> VariantResult:
    """The end-to-end CNN baseline (:class:`~localbook.images.patch_cnn.EndToEndCNN` of ``width``) trained from
    pixels with ``config`` and random translations by up to ``max_shift`` pixels, for each seed; ``train`` /
    ``val`` / ``test`` are ImageDatasets."""
    from localbook.images.augment import RandomTranslate
    from localbook.images.patch_cnn import EndToEndCNN

    xy = [(d.x.to(device), d.y.to(device)) for d in (train, val, test)]
    variant = Variant(lambda: EndToEndCNN(train.x.shape[1], len(train.classes), width), xy[0], xy[2], xy[1],
                      RandomTranslate(max_shift))
    return train_variants({"cnn": variant}, config, seeds, device, progress)["cnn"]


def accuracy_cell(accuracies, digits: int = 1) -> str:
    """Accuracy in percent, ``"mean ± std"`` over seeds (sample standard deviation), or one number."""
    acc = 100 * np.asarray(accuracies, dtype=float).ravel()
    if len(acc) == 1:
        return f"{acc[0]:.{digits}f}"
    return f"{acc.mean():.{digits}f} ± {acc.std(ddof=1):.{digits}f}"


def comparison_rows(results: Mapping[str, object], thesis: Mapping[str, str] | None = None,
                    extra: Mapping[str, Mapping[str, str]] | None = None) -> tuple[list[list], list[str]]:
    """``(rows, header)`` of a results table, for ``localbook.plotting.text_table(rows, header)``: one row per
    result with its name, the thesis' number (``thesis[name]``, "-" when absent), this book's test accuracy
    (:func:`accuracy_cell` of ``result.test_accuracies``), the number of seeds, and the columns of
    ``extra[name]`` (e.g. parameters, chosen hyper-parameters)."""
    thesis = thesis or {}
    extra = extra or {}
    columns = list(dict.fromkeys(c for cols in extra.values() for c in cols))
    rows = []
    for name, res in results.items():
        acc = np.asarray(res.test_accuracies)
        rows.append([name, thesis.get(name, "-"), accuracy_cell(acc), len(acc),
                     *(extra.get(name, {}).get(c, "-") for c in columns)])
    return rows, ["model", "thesis %", "book test %", "seeds", *columns]


def sweep_rows(sweeps: Mapping[str, Mapping]) -> tuple[list[list], list[str]]:
    """``(rows, header)`` of hyper-parameter sweeps ``{parameter: {value: result}}`` (e.g. the output of
    :func:`localbook.images.patch_knn.run_sweeps`): one row per value, in increasing order, with the training and
    test accuracies (mean +- std over seeds), as in thesis fig. 5.3."""
    rows = [[name, value, accuracy_cell(res.train_accuracies), accuracy_cell(res.test_accuracies)]
            for name, runs in sweeps.items() for value, res in sorted(runs.items())]
    return rows, ["parameter", "value", "train %", "test %"]


def beats_baselines(results: Mapping[str, object], method: str, baselines: Sequence[str], margin: float = 0.0) -> str:
    """One line per baseline: whether ``method``'s test accuracy (mean over its seeds) is above the baseline's by
    more than ``margin`` (a fraction: 0.01 is one point), and in how many of its seeds. No digits of the
    accuracies: CPU training with another thread count rounds differently and ends a few tenths of a point
    elsewhere, but a ranking with a margin is a claim a run can keep or break (and a checked output can test).
    ``results``: anything with ``test_accuracies`` (variants, baselines, patch k-NN runs)."""
    if method not in results:
        raise KeyError(f"no result named {method!r}; known: {', '.join(results)}")
    ours = np.asarray(results[method].test_accuracies, dtype=float)
    lines = []
    for name in baselines:
        if name not in results:
            raise KeyError(f"no baseline named {name!r}; known: {', '.join(results)}")
        theirs = float(np.mean(results[name].test_accuracies))
        verdict = "above" if ours.mean() > theirs + margin else "NOT above"
        by = f" by more than {100 * margin:g} points" if margin else ""
        lines.append(f"{method} {verdict} {name}{by} (test top-1, mean of {len(ours)} seed(s)); above it in "
                     f"{int(np.sum(ours > theirs + margin))} of {len(ours)} seed(s)")
    return "\n".join(lines)
