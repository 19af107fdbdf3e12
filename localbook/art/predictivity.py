"""Predictivity of style transfer (thesis ch. 6.2.2): does ``f(painting, photo)`` look like the painting?

Given a photograph and a figurative painting of the same scene, the painting is used as the style and the
photograph as the content; the output is scored against the painting. :func:`predictivity_scores` gives
four numbers (lower is closer except SSIM); :func:`evaluate_predictivity` runs methods over a folder of
pairs that the user provides (no such set ships with any package): ``NAME_photo.EXT`` and
``NAME_painting.EXT`` (EXT in png, jpg, jpeg).
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Mapping

import numpy as np
import torch

from localbook.art.images import from_bytes, to_array
from localbook.art.style import GATYS_STYLE_LAYERS, gram_matrix, resize

__all__ = ["predictivity_scores", "find_pairs", "evaluate_predictivity"]

_EXTS = (".png", ".jpg", ".jpeg")


@torch.no_grad()
def predictivity_scores(output: torch.Tensor, painting: torch.Tensor, model=None) -> dict[str, float]:
    """Scores of an output (1, 3, H, W) against the painting of the same scene (resized to the output's size).

    ``rmse``: root-mean-square pixel difference (intensity units in [0, 1]); ``ssim``: structural similarity
    of the grey-level images (scikit-image; 1 = identical); with a VGG ``model``: ``feature`` (relative
    squared distance of the ``conv4_2`` activations, a perceptual content distance) and ``gram`` (relative
    squared distance of the Gram matrices of :data:`GATYS_STYLE_LAYERS`, averaged: a style distance).
    """
    from skimage.metrics import structural_similarity

    painting = resize(painting.to(output.device), tuple(output.shape[-2:]))
    scores = {"rmse": float((output - painting).square().mean().sqrt())}
    grey = lambda x: to_array(x).mean(2)  # noqa: E731
    scores["ssim"] = float(structural_similarity(grey(output), grey(painting), data_range=1.0,
                                                 win_size=min(7, *output.shape[-2:]) // 2 * 2 + 1))
    if model is not None:
        layers = GATYS_STYLE_LAYERS + ("conv4_2",)
        fo, fp = model(output, layers), model(painting, layers)
        scores["feature"] = float((fo["conv4_2"] - fp["conv4_2"]).square().sum() / fp["conv4_2"].square().sum())
        scores["gram"] = float(np.mean([float((gram_matrix(fo[k]) - gram_matrix(fp[k])).square().sum()
                                              / gram_matrix(fp[k]).square().sum()) for k in GATYS_STYLE_LAYERS]))
    return scores


def find_pairs(folder: str | Path) -> list[tuple[str, Path, Path]]:
    """``[(name, photo_path, painting_path), ...]`` for the files ``NAME_photo.EXT`` / ``NAME_painting.EXT``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give a folder of NAME_photo.jpg / NAME_painting.jpg pairs")
    files = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in _EXTS}
    pairs, lonely = [], []
    for stem, path in sorted(files.items()):
        if stem.endswith("_photo"):
            name = stem[: -len("_photo")]
            if name + "_painting" in files:
                pairs.append((name, path, files[name + "_painting"]))
            else:
                lonely.append(path.name)
    if not pairs:
        raise ValueError(f"no NAME_photo.EXT / NAME_painting.EXT pairs in {folder} (EXT in {_EXTS}); "
                         f"found {sorted(p.name for p in files.values())[:10]}")
    if lonely:
        raise ValueError(f"photos without a painting in {folder}: {lonely}")
    return pairs


def evaluate_predictivity(folder: str | Path, methods: Mapping[str, Callable], size: int = 128, model=None,
                          device: str | torch.device = "cpu") -> list[dict]:
    """Run every method ``f(style=painting, content=photo)`` on every pair of ``folder``; score each output.

    Returns one row per (pair, method): ``{"pair", "method", **predictivity_scores}``; images are read
    square-cropped at ``size`` pixels.
    """
    rows = []
    for name, photo_path, painting_path in find_pairs(folder):
        photo = from_bytes(photo_path.read_bytes(), size=size, device=device)
        painting = from_bytes(painting_path.read_bytes(), size=size, device=device)
        for method, f in methods.items():
            out = f(painting, photo)
            rows.append({"pair": name, "method": method, **predictivity_scores(out, painting, model)})
    return rows
