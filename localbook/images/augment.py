"""Data augmentation by random translations (and flips), vectorised over a batch.

The thesis augments images by random crops and flips (sections 4.3 and 5.3.1). On precomputed scattering maps
a translation by one sample is a translation of the image by ``stride`` pixels; :class:`SubsampledTranslate`
gives a model without oversampling exactly the translations its oversampled counterpart sees.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["RandomTranslate", "SubsampledTranslate"]


@dataclass
class RandomTranslate:
    """Augmentation: random translations by up to ``max_shift`` samples (reflect padding) and, optionally,
    horizontal flips; each image in a batch gets its own draw. Works on images (B, C, H, W) and on
    scattering maps (a shift of one scattering sample is a shift of ``stride`` pixels). Vectorised: one
    gather for the whole batch."""

    max_shift: int = 2
    flip: bool = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        B, C, H, W = x.shape
        m = self.max_shift
        if m > 0:
            if m >= min(H, W):
                raise ValueError(f"max_shift={m} must be smaller than the map size {H} x {W}")
            gen_device = generator.device if generator is not None else torch.device("cpu")
            d = torch.randint(0, 2 * m + 1, (2, B), generator=generator, device=gen_device).to(x.device)
            xp = F.pad(x, (m, m, m, m), mode="reflect")
            rows = d[0][:, None] + torch.arange(H, device=x.device)  # (B, H)
            cols = d[1][:, None] + torch.arange(W, device=x.device)  # (B, W)
            b = torch.arange(B, device=x.device)[:, None, None]
            x = xp[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)
        if self.flip:
            gen_device = generator.device if generator is not None else torch.device("cpu")
            flip = (torch.rand(B, generator=generator, device=gen_device) < 0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x.contiguous()


@dataclass
class SubsampledTranslate:
    """Augmentation for a model without oversampling, trained from oversampled features: a random translation
    by up to ``max_shift`` samples of the fine grid, then every ``step``-th sample (``step = 2**o``).

    Sample ``v`` of the result is the fine-grid descriptor ``step * v + d``: the non-oversampled scattering of
    the image translated by ``d * stride_fine`` pixels. So the model without oversampling sees exactly the
    translations that :class:`RandomTranslate` gives the oversampled one, and is tested on ``[::step, ::step]``.
    """

    max_shift: int = 1
    step: int = 2

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return RandomTranslate(self.max_shift)(x, generator)[..., ::self.step, ::self.step].contiguous()
