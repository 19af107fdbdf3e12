"""An image-folder dataset (ImageNet layout: ``root/<split>/<class>/<image>``), decoded with Pillow.

ImageNet is not redistributable and ships with no package, so the full-scale run of chapter 5 reads a
folder the user provides. Augmentation follows the thesis (section 4.3): for training, the image is
rescaled by a random aspect ratio in [3/4, 4/3], a random crop covering a uniform fraction [0.8, 1] of the
area is taken and resized to ``size`` x ``size``, and flipped horizontally with probability 1/2; for
validation, the short side is resized to ``size * 256 / 224`` and the centre ``size`` x ``size`` crop kept.
Random draws use torch's global generator, which ``DataLoader`` seeds per worker.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from localbook.data.registry import DataUnavailableError

__all__ = ["ImageFolderDataset", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".JPEG", ".JPG", ".PNG")


class ImageFolderDataset(Dataset):
    """Images under ``root/split/<class name>/``; items are (x (3, size, size) float32 in [0, 1], label int).

    Classes are the sorted sub-folder names (ImageNet's ``n01440764`` ... order). Raises
    :class:`~localbook.data.registry.DataUnavailableError` when the folder is missing or holds no images.
    """

    def __init__(self, root: str | Path | None, split: str = "train", size: int = 224, augment: bool = False):
        if root is None:
            raise DataUnavailableError(
                "no image folder given: pass data_dir / --data-dir pointing at a folder with train/ and val/ "
                "sub-folders, one folder of images per class (the ImageNet 2012 layout; ImageNet itself must be "
                "obtained from https://image-net.org under its terms of use)")
        self.root = Path(root) / split
        if not self.root.is_dir():
            raise DataUnavailableError(f"{self.root} does not exist: expected {Path(root)}/{split}/<class>/<images>")
        self.classes = tuple(sorted(p.name for p in self.root.iterdir() if p.is_dir()))
        self.samples = [(f, i) for i, c in enumerate(self.classes) for f in sorted((self.root / c).iterdir())
                        if f.suffix in IMAGE_SUFFIXES]
        if not self.samples:
            raise DataUnavailableError(f"no images ({', '.join(IMAGE_SUFFIXES[:5])}) in class folders under "
                                       f"{self.root}")
        if size < 8:
            raise ValueError(f"size must be >= 8 pixels, got {size}")
        self.size, self.augment = size, augment

    def __len__(self) -> int:
        return len(self.samples)

    def _train_crop(self, img):
        from PIL import Image

        w, h = img.size
        ratio = math.exp(float(torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3))))
        img = img.resize((max(1, round(w * math.sqrt(ratio))), max(1, round(h / math.sqrt(ratio)))),
                         Image.BILINEAR)
        w, h = img.size
        frac = float(torch.empty(1).uniform_(0.8, 1.0))
        side = max(1, min(w, h, round(math.sqrt(frac * w * h))))
        left = int(torch.randint(0, w - side + 1, (1,)))
        top = int(torch.randint(0, h - side + 1, (1,)))
        img = img.crop((left, top, left + side, top + side)).resize((self.size, self.size), Image.BILINEAR)
        if float(torch.rand(1)) < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return img

    def _val_crop(self, img):
        from PIL import Image

        w, h = img.size
        short = round(self.size * 256 / 224)
        scale = short / min(w, h)
        img = img.resize((max(self.size, round(w * scale)), max(self.size, round(h * scale))), Image.BILINEAR)
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return img.crop((left, top, left + self.size, top + self.size))

    def __getitem__(self, i: int):
        from PIL import Image

        path, label = self.samples[i]
        with Image.open(path) as im:
            img = im.convert("RGB")
        img = self._train_crop(img) if self.augment else self._val_crop(img)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
        return x, label
