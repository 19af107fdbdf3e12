"""Natural colour photographs shipped inside scikit-image and scikit-learn, for patch statistics (ch. 06).

Offline sources (DESIGN.md, "Data"): ``skimage/data/`` (astronaut, chelsea, coffee, rocket, motorcycle)
and ``sklearn/datasets/images/`` (china, flower). The files are read directly, never fetched.
"""
from __future__ import annotations

import numpy as np
import torch

from localbook.data.registry import Dataset, PackageSource, register

__all__ = ["PHOTOGRAPHS", "load_photographs"]

SKIMAGE_PHOTOS = register(Dataset(
    name="skimage-photographs",
    description="colour photographs bundled with scikit-image (astronaut, chelsea, coffee, rocket, motorcycle)",
    sources=[PackageSource("skimage", "data", pip_name="scikit-image")],
    required=("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"),
    citation="van der Walt et al., PeerJ 2, e453 (2014); image credits in skimage/data/README.txt",
))

SKLEARN_PHOTOS = register(Dataset(
    name="sklearn-sample-images",
    description="colour photographs bundled with scikit-learn (china, flower)",
    sources=[PackageSource("sklearn", "datasets/images", pip_name="scikit-learn")],
    required=("china.jpg", "flower.jpg"),
    citation="Pedregosa et al., JMLR 12, 2825 (2011); image credits in sklearn/datasets/images/README.txt",
))

#: name -> (dataset, file)
PHOTOGRAPHS = {
    "astronaut": (SKIMAGE_PHOTOS, "astronaut.png"),
    "chelsea": (SKIMAGE_PHOTOS, "chelsea.png"),
    "coffee": (SKIMAGE_PHOTOS, "coffee.png"),
    "rocket": (SKIMAGE_PHOTOS, "rocket.jpg"),
    "motorcycle": (SKIMAGE_PHOTOS, "motorcycle_left.png"),
    "china": (SKLEARN_PHOTOS, "china.jpg"),
    "flower": (SKLEARN_PHOTOS, "flower.jpg"),
}


def load_photographs(names: tuple[str, ...] | None = None, downsample: int = 1) -> list[torch.Tensor]:
    """The photographs ``names`` (default: all of :data:`PHOTOGRAPHS`) as tensors (3, H, W) in [0, 1].

    ``downsample > 1`` averages ``downsample x downsample`` blocks (an anti-aliased reduction, like the
    down-sampled ImageNet-32/64 of the thesis), so that a small patch covers a larger part of the scene.
    """
    from skimage.io import imread
    from skimage.transform import downscale_local_mean

    names = tuple(PHOTOGRAPHS) if names is None else tuple(names)
    unknown = [n for n in names if n not in PHOTOGRAPHS]
    if unknown:
        raise ValueError(f"unknown photograph(s) {unknown}; choose among {sorted(PHOTOGRAPHS)}")
    if not isinstance(downsample, int) or downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
    out = []
    for name in names:
        dataset, filename = PHOTOGRAPHS[name]
        img = np.asarray(imread(dataset.locate() / filename), dtype=np.float64)[..., :3] / 255.0
        if downsample > 1:
            img = downscale_local_mean(img, (downsample, downsample, 1))
        out.append(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float())
    return out
