"""The 2-D scattering transform as a descriptor of image patches (thesis section 4.1), with oversampling.

kymatio's ``Scattering2D`` (Morlet wavelets, ``L`` angles, scales ``0 <= j < J``, orders 0, 1 and optionally
2) samples its output every ``2**J`` pixels; each output position ``u`` describes a patch of width ~``2**J``
pixels. The thesis used an oversampling factor ``o = 1``: a descriptor every ``2**(J - o)`` pixels, hence
overlapping patches. kymatio has no oversampling in 2-D, so :class:`OversampledScattering2D` calls it on the
``4**o`` shifted copies of the image and interleaves the outputs.

Speed (issue 22): an earlier version gathered the shifted copies into one batch for a single kymatio call;
it measured 0.87x the speed of plain calls (a larger batch, the same arithmetic), so the copies are now
scattered by plain kymatio calls, one per shift (``benchmarks/bench_scattering_cnn.py``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from localbook.checks import check_images

__all__ = ["scattering_channels", "OversampledScattering2D", "select_orders", "scattering_features",
           "cached_scattering_features", "scatter_datasets"]


def scattering_channels(J: int, L: int = 8, max_order: int = 2) -> dict[int, int]:
    """Number of scattering channels per input channel and order: ``{0: 1, 1: J L, 2: L**2 J (J-1) / 2}``.

    Order-2 paths keep only ``j2 > j1`` (thesis section 4.1). For J = 4, L = 8 and a colour image this gives
    3 x (1 + 32 + 384) = 1251 channels, the number in thesis fig. 4.1.
    """
    counts = {0: 1, 1: J * L}
    if max_order >= 2:
        counts[2] = L * L * J * (J - 1) // 2
    return counts


class OversampledScattering2D(nn.Module):
    """2-D scattering ``Sx(u)`` with an oversampling factor, as a fixed (not trained) torch module.

    Parameters: ``J`` (number of scales; patches of width ~``2**J`` px), ``shape`` = (H, W) of the images,
    ``L`` angles in [0, pi), ``max_order`` 1 or 2, ``oversampling`` o in [0, J].

    Input (B, C, H, W); output (B, C * K, M_h, M_w) with K = :func:`scattering_channels` summed and
    ``M_h = 2**o * H / 2**J``: descriptors sampled every ``stride = 2**(J - o)`` pixels. Channel
    ``c * K + k`` is scattering path ``k`` (order 0, then order 1 by (j, theta), then order 2) of colour ``c``.

    Oversampling: the image is reflect-padded by ``2**J - stride`` pixels at the bottom and right, and the
    ``4**o`` windows shifted by ``(a, b) * stride`` pixels, ``0 <= a, b < 2**o``, are scattered by plain
    kymatio calls. Window ``(a, b)`` gives the descriptors at the positions ``2**J u + (a, b) stride``;
    interleaving the windows puts them on the finer grid. Window (0, 0) is the un-shifted image, so the even
    positions ``[..., ::2**o, ::2**o]`` of the output are exactly the scattering without oversampling
    (tested). The cost is ``4**o`` scatterings.
    """

    def __init__(self, J: int, shape: tuple[int, int], L: int = 8, max_order: int = 2, oversampling: int = 0):
        super().__init__()
        if not (isinstance(J, int) and J >= 1):
            raise ValueError(f"J must be an integer >= 1, got {J!r}")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order!r}")
        if not (isinstance(oversampling, int) and 0 <= oversampling <= J):
            raise ValueError(f"oversampling must be an integer in [0, J={J}], got {oversampling!r}")
        H, W = shape
        if H % 2**J or W % 2**J:
            raise ValueError(f"image shape {tuple(shape)} is not a multiple of 2**J = {2**J}: crop or pad the "
                             f"images, or choose a smaller J")
        from localbook._compat import use_kymatio

        Scattering2D = use_kymatio().Scattering2D

        self.J, self.L, self.max_order, self.oversampling = J, L, max_order, oversampling
        self.shape = (H, W)
        self.stride = 2 ** (J - oversampling)
        self.scattering = Scattering2D(J=J, shape=(H, W), L=L, max_order=max_order)
        self.channels_per_input = sum(scattering_channels(J, L, max_order).values())

    def output_shape(self, in_channels: int) -> tuple[int, int, int]:
        """(channels, M_h, M_w) of the output for images with ``in_channels`` colours."""
        f = 2 ** self.oversampling
        return (in_channels * self.channels_per_input, f * self.shape[0] // 2**self.J,
                f * self.shape[1] // 2**self.J)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[-2:]) != self.shape:
            raise ValueError(f"OversampledScattering2D expects images (B, C, {self.shape[0]}, {self.shape[1]}), "
                             f"got {tuple(x.shape)}")
        check_images(x, who="OversampledScattering2D")
        B, C, H, W = x.shape
        f, s = 2 ** self.oversampling, self.stride
        if f == 1:
            S = self.scattering(x.contiguous())
            return S.reshape(B, C * S.shape[-3], *S.shape[-2:])
        xp = F.pad(x, (0, 2**self.J - s, 0, 2**self.J - s), mode="reflect")
        S = torch.stack([self.scattering(xp[..., a * s:a * s + H, b * s:b * s + W].contiguous())
                         for a in range(f) for b in range(f)])            # (f*f, B, C, K, h, w), index a * f + b
        K, h, w = S.shape[-3:]
        S = S.reshape(f, f, B, C * K, h, w).permute(2, 3, 4, 0, 5, 1)  # (B, CK, h, a, w, b)
        return S.reshape(B, C * K, h * f, w * f)


def select_orders(features: torch.Tensor, in_channels: int, J: int, L: int = 8, keep_order: int = 1,
                  computed_order: int = 2) -> torch.Tensor:
    """Keep the scattering channels of order <= ``keep_order`` of features computed up to ``computed_order``.

    ``features`` (B, in_channels * K, M_h, M_w) as returned by :class:`OversampledScattering2D`. Used for the
    ablation "order 2 removed" without recomputing the transform: kymatio lists order 0, then 1, then 2.
    """
    counts = scattering_channels(J, L, computed_order)
    K = sum(counts.values())
    if features.shape[1] != in_channels * K:
        raise ValueError(f"features have {features.shape[1]} channels, expected {in_channels} x {K} for J={J}, "
                         f"L={L}, max_order={computed_order}")
    keep = sum(n for order, n in counts.items() if order <= keep_order)
    B, _, Mh, Mw = features.shape
    return features.reshape(B, in_channels, K, Mh, Mw)[:, :, :keep].reshape(B, in_channels * keep, Mh, Mw)


@torch.no_grad()
def scattering_features(scattering: nn.Module, x: torch.Tensor, batch_size: int = 512, device="cpu",
                        progress: bool | None = None) -> torch.Tensor:
    """Apply a fixed scattering to images ``x`` (N, C, H, W) by batches on ``device``; returns (N, K, M, M)
    float32 on ``device``. ``progress=None`` shows a bar only in interactive terminals (tqdm's ``disable``)."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    scattering = scattering.to(device)
    disable = None if progress is None else not progress
    out = [scattering(x[i:i + batch_size].to(device))
           for i in tqdm(range(0, len(x), batch_size), desc="scattering", disable=disable, leave=False)]
    return torch.cat(out)


def cached_scattering_features(scattering: OversampledScattering2D, x: torch.Tensor, batch_size: int = 512,
                               device="cpu", progress: bool | None = None, cache=None,
                               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """:func:`scattering_features` through the on-disk :class:`~localbook.data.cache.ArrayCache`, keyed by
    the images, the transform's (J, L, max_order, oversampling) and the source of this module and its imports: a
    re-run of a chapter reads the descriptors instead of recomputing them, and a change of the code recomputes
    them. ``cache=None`` uses the default cache ($LOCALBOOK_CACHE). ``dtype=torch.float16`` halves the memory of
    a large set (the training loop casts batches to float32; float16 keeps 3 significant digits, far below the
    spread that batch norm standardises).

    This is the cache's primitive, not :func:`localbook.compute.cached_transform` (the structures' descriptors):
    the features are 4-D maps kept in ``dtype`` (all of Fashion-MNIST's 70,000 images are 2.2 GB in float16,
    8.7 GB as that function's float64 matrix), and a torch module, not a scikit-learn transformer, computes them.
    """
    from localbook.data.cache import default_cache

    cache = cache or default_cache()
    params = {"J": scattering.J, "L": scattering.L, "max_order": scattering.max_order,
              "oversampling": scattering.oversampling, "shape": list(scattering.shape), "dtype": str(dtype)}
    arrays = cache.get_or_compute(
        "scattering2d_features",
        lambda: {"s": scattering_features(scattering, x, batch_size, device, progress).to(dtype).cpu().numpy()},
        inputs=x, params=params, depends_on=(__name__,))
    return torch.from_numpy(arrays["s"]).to(device)


def scatter_datasets(scattering: OversampledScattering2D, datasets, device="cpu", progress: bool | None = None,
                     dtype: torch.dtype | str = torch.float32) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (features, labels)}`` on ``device`` for each ``{name: ImageDataset}``, the features cached on
    disk (:func:`cached_scattering_features`) in ``dtype`` (a torch dtype or its name, ``"float16"``)."""
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    return {name: (cached_scattering_features(scattering, d.x, device=device, progress=progress, dtype=dtype),
                   d.y.to(device)) for name, d in datasets.items()}
