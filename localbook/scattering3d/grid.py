"""Front end for densities already sampled on one periodic grid (as kymatio's ``HarmonicScattering3D``).

:class:`GridScattering` checks the grid, builds the filter bank (:mod:`.filters`), labels the output
(:mod:`.labels`) and calls the loop (:func:`.core.scattering`) on chunks of densities. Use it for raw grids, for
the densities ``U_{l,j}[rho]`` themselves (chapter 01's aliasing study), or through the ``ase.Atoms`` front end
:class:`.frontend.SolidHarmonicScattering`.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from localbook.scattering3d import backend, core
from localbook.scattering3d.filters import FilterBank, solid_harmonic_filter_bank
from localbook.scattering3d.labels import coefficient_labels

__all__ = ["GridScattering", "RESOLUTIONS"]

RESOLUTIONS = ("exact", "multi")


class GridScattering:
    """Solid harmonic scattering coefficients of densities on a periodic ``shape`` grid of box ``lengths``.

    Parameters
    ----------
    shape : (Nx, Ny, Nz) grid points.
    lengths : (dx, dy, dz) box lengths in the length unit (default: ``shape``, i.e. unit grid steps as in
        kymatio). The steps ``d_a / N_a`` need not be equal.
    js : wavelet scales ``j`` (floats allowed); width ``2^j sigma_w``.
    ls : degrees ``l`` of the solid harmonics.
    qs : powers ``q`` of the integrals (``q > 0``).
    sigma_w : width of the smallest wavelet, in the length unit.
    max_order : 0, 1 or 2.
    second_order : ``"same_l"`` (``U_{l,j2}[U_{l,j1}]``, kymatio's and the thesis' carbon choice, 226
        coefficients in section 2.6.1) or ``"all_l"`` (every ``l1, l2`` pair). Always ``j2 > j1``.
    include_order0 : add ``int rho^q``.
    channels : names of the channels (labels only).
    resolution : ``"exact"`` (every ``U`` on the input grid: kymatio's numbers, to rounding) or ``"multi"``
        (each scale on the coarsest grid that holds its wavelet's band at the aliasing precision ``scale_eps``;
        faster, with an error the benchmark measures).
    scale_eps : aliasing precision of the scale grids in the ``"multi"`` mode (thesis section 2.2.1's
        ``eps_a = exp(-pi^2 s^2 / (2 h^2))`` applied to each wavelet of width ``s`` on a grid of step ``h``).
    oversampling : how many times finer than the band's minimum (``2K + 1`` points) each scale grid is in the
        ``"multi"`` mode. 1 is exact for ``q = 2`` only; the modulus has kinks (odd ``l``) that the square root of
        ``q = 1/2`` sharpens, so other powers need more: on QM9-like molecules at ``spacing = sigma / 1.5``, 2 errs
        by 2.5e-4 of the largest coefficient, 1 by 2.6e-3 (``benchmarks/bench_scattering3d.py`` measures it).
    chunk : densities (structure x channel) per pass through the loop; default on the CPU: as many as fill a
        64^3 grid (one for grids of 64^3 or more), on a GPU all of them.
    device, dtype : where and in which precision to compute (float32 or float64).

    Calling the object on a real tensor ``(B, C, Nx, Ny, Nz)`` (or ``(B, Nx, Ny, Nz)``, one channel)
    returns ``(B, C, F)`` coefficients labelled by :attr:`labels` (``F`` per channel); :meth:`from_hat`
    takes real-FFT coefficients instead. Integrals are ``dV * sum``, so that they approximate the
    continuous ones whatever the grid.
    """

    def __init__(self, shape: Sequence[int], lengths: Sequence[float] | None = None, js=(0, 1, 2),
                 ls=(0, 1, 2, 3), qs=(0.5, 1.0, 2.0), sigma_w: float = 1.0, max_order: int = 2,
                 second_order: str = "same_l", include_order0: bool = True, channels: Sequence[str] = ("rho",),
                 resolution: str = "exact", scale_eps: float = 1e-4, oversampling: float = 2.0,
                 chunk: int | None = None, device="cpu", dtype=torch.float32):
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution={resolution!r} must be one of {RESOLUTIONS}")
        if not 0 < scale_eps < 1:
            raise ValueError(f"scale_eps={scale_eps!r} must be in (0, 1), e.g. 1e-4")
        if not oversampling >= 1:
            raise ValueError(f"oversampling={oversampling!r} must be >= 1 (1: the band's minimum grid)")
        self.shape = tuple(int(n) for n in shape)
        self.lengths = tuple(float(d) for d in (lengths if lengths is not None else self.shape))
        self.js = tuple(float(j) for j in js)
        self.ls = tuple(int(l) for l in ls)
        self.qs = tuple(float(q) for q in qs)
        self.sigma_w = float(sigma_w)
        self.max_order = int(max_order)
        self.second_order = second_order
        self.include_order0 = bool(include_order0)
        self.channels = tuple(channels)
        self.resolution = resolution
        self.scale_eps = float(scale_eps)
        self.oversampling = float(oversampling)
        self.device = torch.device(device)
        self.dtype = dtype
        self.chunk = chunk
        self.dv = math.prod(self.lengths) / math.prod(self.shape)
        self.labels = coefficient_labels(self.js, self.ls, self.qs, self.channels, self.max_order, self.second_order,
                                         self.include_order0)

    @property
    def n_per_channel(self) -> int:
        return len(self.labels) // len(self.channels)

    @property
    def bank(self) -> FilterBank:
        """The filter bank of this grid, device and dtype (built on first use, then cached)."""
        multi = self.resolution == "multi"
        return solid_harmonic_filter_bank(self.shape, self.lengths, self.js, self.ls, self.sigma_w,
                                          eps=self.scale_eps if multi else None,
                                          oversampling=self.oversampling if multi else None,
                                          device=self.device, dtype=self.dtype)

    def first_order_density(self, x_hat: torch.Tensor, l: int, j: float) -> torch.Tensor:
        """``U_{l,j}[x]`` from the real-FFT coefficients ``x_hat`` ``(..., Nx, Ny, Nh)``, on the grid of scale
        ``j`` (the input grid in the exact mode)."""
        bank = self.bank
        band, filters = bank.bands[float(j)], bank.all_degrees[float(j)]
        u2 = backend.paired_moduli(backend.band_inverse(backend.filtered_band(x_hat, band, self.shape, filters), band,
                                                        self.shape), filters)
        return u2[int(l)].sqrt()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_grid(x)
        return self._run(backend.to_fourier(x), x)

    def from_hat(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(B, C, F)`` from real-FFT coefficients ``(B, C, Nx, Ny, Nh)``."""
        if x_hat.dim() != 5 or x_hat.shape[-3:-1] != self.shape[:2] or x_hat.shape[-1] != self.shape[2] // 2 + 1:
            raise ValueError(f"expected real-FFT coefficients of shape (B, C, {self.shape[0]}, {self.shape[1]}, "
                             f"{self.shape[2] // 2 + 1}), got {tuple(x_hat.shape)}")
        return self._run(x_hat.to(self.device), None)

    def _check_grid(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(x):
            raise TypeError(f"expected a torch tensor (B, C, {self.shape}), got {type(x).__name__}")
        if x.dim() == 4:
            x = x.unsqueeze(1)
        if x.dim() != 5 or tuple(x.shape[-3:]) != self.shape or x.shape[1] != len(self.channels):
            raise ValueError(f"expected a real tensor (B, {len(self.channels)}, {', '.join(map(str, self.shape))}); "
                             f"got {tuple(x.shape)}: build GridScattering with this shape and channels")
        if x.is_complex():
            raise TypeError("GridScattering takes real densities; use from_hat() for Fourier coefficients")
        return x.to(device=self.device, dtype=self.dtype)

    def _run(self, x_hat: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        """The loop over chunks of densities: each (structure, channel) density is independent."""
        b, c = x_hat.shape[:2]
        flat_hat = x_hat.reshape((b * c,) + tuple(x_hat.shape[2:]))
        flat = None if x is None else x.reshape((b * c,) + self.shape)
        # CPU: as many densities per pass as fill a 64^3 grid (one 64^3 density's working set of about 20 MB is
        # what measured fastest; eight at once ran 3x slower per density); GPU: all of them
        size = self.chunk or (max(1, 64 ** 3 // math.prod(self.shape)) if self.device.type == "cpu" else b * c)
        bank = self.bank
        out = []
        for k in range(0, b * c, size):
            xk = None
            if self.include_order0:
                xk = flat[k:k + size] if flat is not None else backend.to_space(flat_hat[k:k + size], self.shape)
            out.append(core.scattering(flat_hat[k:k + size], bank, self.qs, self.max_order, self.second_order, xk))
        return torch.cat(out, 0).reshape(b, c, -1)
