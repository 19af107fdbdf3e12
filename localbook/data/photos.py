"""Pictures shipped inside scikit-image and scikit-learn: photographs for patch statistics (ch. 06), contents
and styles for style transfer (ch. 07).

Offline sources (DESIGN.md, "Data"): ``skimage/data/`` (astronaut, chelsea, coffee, rocket, motorcycle and
the textures and colourful pictures of :data:`PICTURES`) and ``sklearn/datasets/images/`` (china, flower).
The files are read directly, never fetched. This module is the one place that knows their files.
"""
from __future__ import annotations

import numpy as np
import torch

from localbook.data.registry import Dataset, PackageSource, register

__all__ = ["PHOTOGRAPHS", "PICTURES", "read_picture", "load_photographs"]

SKIMAGE_PHOTOS = register(Dataset(
    name="skimage-photographs",
    description="colour photographs bundled with scikit-image (astronaut, chelsea, coffee, rocket, motorcycle)",
    sources=[PackageSource("skimage", "data", pip_name="scikit-image")],
    required=("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "ihc.png",
              "hubble_deep_field.jpg", "color.png", "brick.png", "gravel.png", "grass.png"),
    citation="van der Walt et al., PeerJ 2, e453 (2014); image credits in skimage/data/README.txt",
))

SKLEARN_PHOTOS = register(Dataset(
    name="sklearn-sample-images",
    description="colour photographs bundled with scikit-learn (china, flower)",
    sources=[PackageSource("sklearn", "datasets/images", pip_name="scikit-learn")],
    required=("china.jpg", "flower.jpg"),
    citation="Pedregosa et al., JMLR 12, 2825 (2011); image credits in sklearn/datasets/images/README.txt",
))

#: name -> (dataset, file, description): every picture this module can read.
PICTURES = {
    "astronaut": (SKIMAGE_PHOTOS, "astronaut.png", "portrait of the astronaut Eileen Collins (NASA)"),
    "chelsea": (SKIMAGE_PHOTOS, "chelsea.png", "Chelsea the cat"),
    "coffee": (SKIMAGE_PHOTOS, "coffee.png", "a cup of coffee"),
    "rocket": (SKIMAGE_PHOTOS, "rocket.jpg", "a rocket on its launch pad (NASA)"),
    "motorcycle": (SKIMAGE_PHOTOS, "motorcycle_left.png", "a motorcycle (left view of a stereo pair)"),
    "ihc": (SKIMAGE_PHOTOS, "ihc.png", "immunohistochemical stain of a tissue section"),
    "hubble": (SKIMAGE_PHOTOS, "hubble_deep_field.jpg", "the Hubble eXtreme Deep Field (NASA)"),
    "colorwheel": (SKIMAGE_PHOTOS, "color.png", "a colour wheel"),
    "brick": (SKIMAGE_PHOTOS, "brick.png", "a brick wall (grey-scale texture)"),
    "gravel": (SKIMAGE_PHOTOS, "gravel.png", "gravel (grey-scale texture)"),
    "grass": (SKIMAGE_PHOTOS, "grass.png", "grass (grey-scale texture)"),
    "china": (SKLEARN_PHOTOS, "china.jpg", "a Chinese temple (scikit-learn sample image)"),
    "flower": (SKLEARN_PHOTOS, "flower.jpg", "a flower (scikit-learn sample image)"),
}

#: The natural colour photographs of the patch statistics of chapter 06 (a subset of :data:`PICTURES`).
PHOTOGRAPHS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "china", "flower")


def read_picture(name: str) -> np.ndarray:
    """The picture ``name`` of :data:`PICTURES` as stored: ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8."""
    from skimage.io import imread

    if name not in PICTURES:
        raise ValueError(f"unknown picture {name!r}; choose among {sorted(PICTURES)}")
    dataset, filename, _ = PICTURES[name]
    return np.asarray(imread(dataset.locate() / filename))


def load_photographs(names: tuple[str, ...] | None = None, downsample: int = 1) -> list[torch.Tensor]:
    """The photographs ``names`` (default: all of :data:`PHOTOGRAPHS`) as tensors (3, H, W) in [0, 1].

    ``downsample > 1`` averages ``downsample x downsample`` blocks (an anti-aliased reduction, like the
    down-sampled ImageNet-32/64 of the thesis), so that a small patch covers a larger part of the scene.
    """
    from skimage.transform import downscale_local_mean

    names = PHOTOGRAPHS if names is None else tuple(names)
    unknown = [n for n in names if n not in PHOTOGRAPHS]
    if unknown:
        raise ValueError(f"unknown photograph(s) {unknown}; choose among {sorted(PHOTOGRAPHS)}")
    if not isinstance(downsample, int) or downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
    out = []
    for name in names:
        img = read_picture(name).astype(np.float64)[..., :3] / 255.0
        if downsample > 1:
            img = downscale_local_mean(img, (downsample, downsample, 1))
        out.append(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float())
    return out
