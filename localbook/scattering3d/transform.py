"""The scattering transform of densities sampled on one periodic grid (thesis section 2.1.5, 2.2).

:class:`GridScattering` is the engine behind :class:`localbook.scattering3d.SolidHarmonicScattering`; use it
directly for raw grids (as in kymatio) or for the densities ``U_{l,j}[rho]`` themselves (the aliasing
study of chapter 01).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import torch

from localbook.scattering3d import backend, core

__all__ = ["CoefficientLabel", "GridScattering"]


class CoefficientLabel(NamedTuple):
    """What one scattering coefficient is: ``int (U ...)^q`` of a given order, channel and indices.

    ``order`` 0: ``int rho_c^q``; 1: ``int U_{l1,j1}[rho_c]^q``; 2: ``int U_{l2,j2}[U_{l1,j1}[rho_c]]^q``.
    Unused indices are ``None``.
    """

    order: int
    channel: str
    q: float
    l1: int | None = None
    j1: float | None = None
    l2: int | None = None
    j2: float | None = None

    @property
    def name(self) -> str:
        """A column name such as ``order1_Z_l2_j1.5_q0.5``."""
        def num(v):
            return f"{v:g}"
        parts = [f"order{self.order}", self.channel]
        if self.order >= 1:
            parts += [f"l{self.l1}", f"j{num(self.j1)}"]
        if self.order == 2:
            parts += [f"l{self.l2}", f"j{num(self.j2)}"]
        parts.append(f"q{num(self.q)}")
        return "_".join(parts)

    @property
    def max_scale(self) -> float:
        """Largest wavelet scale ``j`` involved (``-inf`` for order 0): for "error versus length" studies."""
        js = [j for j in (self.j1, self.j2) if j is not None]
        return max(js) if js else -math.inf


@dataclass
class _Filters:
    radial: dict      # j -> (Nx, Ny, Nh) real
    angular: dict     # l -> (2l+1, Nx, Ny, Nh) real


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
    device, dtype : where and in which precision to compute (float32 or float64).

    Calling the object on a real tensor ``(B, C, Nx, Ny, Nz)`` (or ``(B, Nx, Ny, Nz)``, one channel)
    returns ``(B, C, F)`` coefficients labelled by :attr:`labels` (``F`` per channel); :meth:`from_hat`
    takes real-FFT coefficients instead. Integrals are ``dV * sum``, so that they approximate the
    continuous ones whatever the grid.
    """

    def __init__(self, shape: Sequence[int], lengths: Sequence[float] | None = None, js=(0, 1, 2),
                 ls=(0, 1, 2, 3), qs=(0.5, 1.0, 2.0), sigma_w: float = 1.0, max_order: int = 2,
                 second_order: str = "same_l", include_order0: bool = True, channels: Sequence[str] = ("rho",),
                 device="cpu", dtype=torch.float32):
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
        self.device = torch.device(device)
        self.dtype = dtype
        self.dv = math.prod(self.lengths) / math.prod(self.shape)
        self._filters: _Filters | None = None
        self._filter_cache: dict = {}
        self._filter_bytes = 0
        self.labels = self._make_labels()

    # ------------------------------------------------------------------------------------------- labels
    def _pairs(self):
        """Second-order index tuples ``(l1, j1, l2, j2)`` in output order."""
        out = []
        for l1 in self.ls:
            for j1 in self.js:
                for j2 in self.js:
                    if j2 <= j1:
                        continue
                    for l2 in (self.ls if self.second_order == "all_l" else (l1,)):
                        out.append((l1, j1, l2, j2))
        return out

    def _make_labels(self):
        labels = []
        for c in self.channels:
            if self.include_order0:
                labels += [CoefficientLabel(0, c, q) for q in self.qs]
            if self.max_order >= 1:
                labels += [CoefficientLabel(1, c, q, l, j) for l in self.ls for j in self.js for q in self.qs]
            if self.max_order >= 2:
                labels += [CoefficientLabel(2, c, q, l1, j1, l2, j2) for (l1, j1, l2, j2) in self._pairs()
                           for q in self.qs]
        return labels

    @property
    def n_per_channel(self) -> int:
        return len(self.labels) // len(self.channels)

    # ------------------------------------------------------------------------------------------ filters
    def _build_filters(self) -> _Filters:
        """Radial Gaussians per ``j`` and real solid harmonics per ``l`` on the half frequency grid.

        Computed once in float64 on the CPU (scipy spherical harmonics) and kept on the device."""
        wx, wy, wz = (w.numpy() for w in core.frequency_grid(self.shape, self.lengths))
        w2 = wx ** 2 + wy ** 2 + wz ** 2
        radial = {j: torch.as_tensor(np.exp(-0.5 * core.scale_width(j, self.sigma_w) ** 2 * w2),
                                     dtype=self.dtype, device=self.device) for j in self.js}
        angular = {}
        for l in self.ls:
            a = core.K_l(l) * (2 * math.pi) ** 1.5 * core.real_solid_harmonics(l, wx, wy, wz)
            angular[l] = torch.as_tensor(a, dtype=self.dtype, device=self.device)
        return _Filters(radial, angular)

    @property
    def filters(self) -> _Filters:
        if self._filters is None:
            self._filters = self._build_filters()
        return self._filters

    def _filter(self, l: int, j: float) -> torch.Tensor:
        """Real ``(2l+1, Nx, Ny, Nh)`` array ``psi_hat_{l,m,j} / (-i)^(l mod 2)`` (core.wavelet_hat): the
        ``(-i)^l`` of the transform is ``(-1)^(l//2)`` times ``-i`` for odd ``l``, and that ``-i`` is applied
        once to the input spectrum instead (:meth:`_source`). Cached while the cache stays under 1 GiB."""
        key = (l, j)
        if key in self._filter_cache:
            return self._filter_cache[key]
        f = self.filters
        if l not in f.angular:
            wx, wy, wz = (w.numpy() for w in core.frequency_grid(self.shape, self.lengths))
            f.angular[l] = torch.as_tensor(core.K_l(l) * (2 * math.pi) ** 1.5 * core.real_solid_harmonics(l, wx, wy, wz),
                                           dtype=self.dtype, device=self.device)
        if j not in f.radial:
            wx, wy, wz = core.frequency_grid(self.shape, self.lengths, device=self.device)
            f.radial[j] = torch.exp(-0.5 * core.scale_width(j, self.sigma_w) ** 2 * (wx ** 2 + wy ** 2 + wz ** 2)
                                    ).to(self.dtype)
        scalar = (-1) ** (l // 2) * core.scale_width(j, self.sigma_w) ** l
        filt = f.angular[l] * (f.radial[j] * scalar)
        if self._filter_bytes + filt.numel() * filt.element_size() < 2 ** 30:
            self._filter_cache[key] = filt
            self._filter_bytes += filt.numel() * filt.element_size()
        return filt

    @staticmethod
    def _source(x_hat: torch.Tensor, x_hat_odd: torch.Tensor, l: int) -> torch.Tensor:
        return x_hat if l % 2 == 0 else x_hat_odd

    def first_order_density(self, x_hat: torch.Tensor, l: int, j: float) -> torch.Tensor:
        """``U_{l,j}[x]`` on the grid from the real-FFT coefficients ``x_hat`` ``(..., Nx, Ny, Nh)``."""
        src = x_hat if l % 2 == 0 else x_hat * (-1j)
        u, _ = backend.filtered_modulus(src, self._filter(l, j), self.shape)
        return u

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_grid(x)
        return self._run(backend.to_fourier(x), x)

    def from_hat(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(B, C, F)`` from real-FFT coefficients ``(B, C, Nx, Ny, Nh)``."""
        if x_hat.dim() != 5 or x_hat.shape[-3:-1] != self.shape[:2] or x_hat.shape[-1] != self.shape[2] // 2 + 1:
            raise ValueError(f"expected real-FFT coefficients of shape (B, C, {self.shape[0]}, {self.shape[1]}, "
                             f"{self.shape[2] // 2 + 1}), got {tuple(x_hat.shape)}")
        x = backend.to_space(x_hat, self.shape) if self.include_order0 else None
        return self._run(x_hat, x)

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
        order0, order1, order2 = [], [], {}
        if self.include_order0:
            order0.append(backend.integrals(x, x.square(), self.qs, self.dv))
        if self.max_order >= 1:
            x_odd = x_hat * (-1j) if any(l % 2 for l in self.ls) else None
            parseval = self.qs == (2.0,)  # int U^2 needs no U: Parseval in Fourier space
            for l1 in self.ls:
                for j1 in self.js:
                    if parseval and (self.max_order < 2 or j1 >= max(self.js)):
                        energy = backend.squared_modulus_sum(self._source(x_hat, x_odd, l1), self._filter(l1, j1),
                                                             self.shape)
                        order1.append(energy.unsqueeze(-1) * self.dv)
                        continue
                    u, u2 = backend.filtered_modulus(self._source(x_hat, x_odd, l1), self._filter(l1, j1), self.shape)
                    order1.append(backend.integrals(u, u2, self.qs, self.dv, nonnegative=True))
                    if self.max_order < 2 or j1 >= max(self.js):
                        continue
                    u_hat = backend.to_fourier(u)  # second order right away: one U_1 spectrum alive at a time
                    del u, u2
                    l2s = self.ls if self.second_order == "all_l" else (l1,)
                    u_odd = u_hat * (-1j) if any(l % 2 for l in l2s) else None
                    for j2 in self.js:
                        if j2 <= j1:
                            continue
                        for l2 in l2s:
                            v, v2 = backend.filtered_modulus(self._source(u_hat, u_odd, l2), self._filter(l2, j2),
                                                             self.shape)
                            order2[(l1, j1, l2, j2)] = backend.integrals(v, v2, self.qs, self.dv, nonnegative=True)
        parts = order0 + order1 + ([order2[p] for p in self._pairs()] if self.max_order >= 2 else [])
        return torch.cat(parts, -1)
