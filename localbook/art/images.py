"""Content and style images shipped with scikit-image and scikit-learn, as ``(1, 3, S, S)`` tensors in [0, 1].

No painting ships with these packages; the chapter uses photographs as content and colourful or textured
pictures (a stained tissue section, the Hubble deep field, a flower, a brick wall) as styles.
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

from localbook.checks import check_images
from localbook.data.photos import PICTURES, read_picture

__all__ = ["BUNDLED_IMAGES", "load_bundled", "from_array", "from_bytes", "to_array", "to_png_bytes",
           "square_crop"]

#: name -> description of the pictures that can be loaded (read by :mod:`localbook.data.photos`).
BUNDLED_IMAGES = {name: description for name, (_, _, description) in PICTURES.items()}


def square_crop(x: torch.Tensor) -> torch.Tensor:
    """Central square crop of images (B, C, H, W)."""
    h, w = x.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return x[..., top:top + s, left:left + s]


def from_array(a: np.ndarray, size: int | None = None, square: bool = True,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """An image array (H, W), (H, W, 3) or (H, W, 4), uint8, uint16 or float in [0, 1] -> (1, 3, S, S) float32 in
    [0, 1]; other values raise :class:`localbook.checks.ImageError` saying how to rescale them.

    Grey images are repeated on three channels, an alpha channel is dropped; ``square`` takes the central
    square; ``size`` resizes (antialiased) to ``size`` pixels on the longer side.
    """
    a = np.asarray(a)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an image (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    a = a[..., :3]
    a = a.astype(np.float32) / {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)
    x = check_images(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None],
                     who="from_array").clamp(0, 1)  # 0-255 floats and 16-bit images were clamped to white
    if square:
        x = square_crop(x)
    if size is not None:
        h, w = x.shape[-2:]
        scale = size / max(h, w)
        x = F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="bilinear",
                          antialias=True, align_corners=False).clamp(0, 1)
    return x.contiguous().to(device)


def load_bundled(name: str, size: int = 192, device: str | torch.device = "cpu") -> torch.Tensor:
    """A bundled image (see :data:`BUNDLED_IMAGES`) as a (1, 3, size, size) tensor in [0, 1] on ``device``."""
    return from_array(read_picture(name), size=size, device=device)


def from_bytes(data: bytes, size: int | None = None, square: bool = True,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """Decode an encoded image file (PNG, JPEG, ...) with Pillow -> (1, 3, S, S) in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(bytes(data)))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"could not decode the image ({len(data)} bytes): {exc}; upload a PNG or JPEG file") from None
    return from_array(np.asarray(img.convert("RGB")), size=size, square=square, device=device)


def to_array(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] -> (H, W, 3) float NumPy array for ``imshow``."""
    if x.ndim == 4:
        x = x[0]
    return x.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def to_png_bytes(x: torch.Tensor) -> bytes:
    """Encode an image tensor as PNG bytes (for ``ipywidgets.Image``)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((to_array(x) * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
