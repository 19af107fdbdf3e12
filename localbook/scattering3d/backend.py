"""Torch tensor work of the scattering transform: densities in Fourier space, filtering, modulus, integrals.

Every function takes tensors already on their device and returns tensors on the same device. Shapes:
``B`` structures (batch), ``A`` atoms (padded with zero weights), ``C`` channels, ``M = 2l+1`` wavelets
of one degree, ``(Nx, Ny, Nz)`` the grid and ``Nh = Nz//2 + 1`` the last axis of a real FFT.
"""
from __future__ import annotations

import math

import torch

from localbook.scattering3d import core

__all__ = ["density_hat", "to_space", "to_fourier", "filtered_modulus", "integrals", "squared_modulus_sum"]

_DIMS = (-3, -2, -1)


def density_hat(positions: torch.Tensor, weights: torch.Tensor, shape, lengths, sigma: float,
                dtype=torch.float32) -> torch.Tensor:
    """Real-FFT coefficients of the sampled density ``rho = sum_i c_i g_sigma(r - r_i)`` (thesis eq. 2.1-2.2).

    ``positions`` ``(B, A, 3)`` in the length unit of ``lengths`` (the periodic box, origin at grid point 0),
    ``weights`` ``(B, A, C)`` (zero rows pad structures with fewer atoms). Returns ``(B, C, Nx, Ny, Nh)``
    complex: ``rho_hat(w_k) / dV``, the DFT of the samples ``rho(n * step)`` of the periodised density up
    to aliasing (which the width condition of :func:`core.gaussian_width_for_aliasing` bounds).

    The structure factor ``sum_i c_i exp(-i w.r_i)`` is separable in x, y, z: one batched complex matrix
    product over atoms, with phases computed in float64 (``w.r`` reaches hundreds of radians).
    """
    device = positions.device
    b, a, _ = positions.shape
    c = weights.shape[-1]
    nx, ny, nz = shape
    wx, wy, wz = core.frequency_grid(shape, lengths, device=device, dtype=torch.float64)
    pos = positions.to(torch.float64)
    ex = torch.exp(-1j * pos[..., 0:1] * wx.view(1, 1, -1))  # (B, A, Nx)
    ey = torch.exp(-1j * pos[..., 1:2] * wy.view(1, 1, -1))
    ez = torch.exp(-1j * pos[..., 2:3] * wz.view(1, 1, -1))
    ctype = torch.complex64 if dtype == torch.float32 else torch.complex128
    pxy = (ex[:, :, :, None] * ey[:, :, None, :]).reshape(b, a, nx * ny).to(ctype)
    qz = (weights.to(torch.float64)[:, :, :, None] * ez[:, :, None, :]).reshape(b, a, -1).to(ctype)
    sf = torch.bmm(pxy.transpose(1, 2), qz).reshape(b, nx, ny, c, -1).permute(0, 3, 1, 2, 4)
    w2 = wx ** 2 + wy ** 2 + wz ** 2
    dv = math.prod(float(d) for d in lengths) / (nx * ny * nz)
    g = (core.gaussian_hat(w2, sigma) / dv).to(dtype)
    return sf * g


def to_space(x_hat: torch.Tensor, shape) -> torch.Tensor:
    """Inverse real FFT over the last three axes back to a real grid of ``shape``."""
    return torch.fft.irfftn(x_hat, s=tuple(shape), dim=_DIMS)


def to_fourier(x: torch.Tensor) -> torch.Tensor:
    """Real FFT over the last three axes."""
    return torch.fft.rfftn(x, dim=_DIMS)


def filtered_modulus(x_hat: torch.Tensor, filters: torch.Tensor, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """``U = (sum_m |x * psi_m|^2)^{1/2}`` and ``U^2`` from the spectrum ``x_hat`` ``(..., Nx, Ny, Nh)``.

    ``filters`` ``(M, Nx, Ny, Nh)`` are real: the real solid harmonic wavelets are real in space, so their
    transforms are real (even ``l``) or imaginary (odd ``l``); the caller passes ``x_hat`` already multiplied
    by ``-i`` for odd ``l`` (see :meth:`GridScattering._filter`). Each of the ``M`` convolutions is one
    inverse *real* FFT, all ``M`` in one batched call.
    """
    conv = torch.fft.irfftn(x_hat.unsqueeze(-4) * filters, s=tuple(shape), dim=_DIMS)
    u2 = conv.select(-4, 0).square()
    for m in range(1, conv.shape[-4]):  # 8x faster on CPU than conv.square().sum(-4) (a strided reduction)
        c = conv.select(-4, m)
        u2.addcmul_(c, c)
    return u2.sqrt(), u2


def squared_modulus_sum(x_hat: torch.Tensor, filters: torch.Tensor, shape) -> torch.Tensor:
    """``sum_grid U^2 = sum_m sum_grid |x * psi_m|^2`` by Parseval, without any inverse FFT: ``(...)``.

    Equal to ``filtered_modulus(x_hat, filters, shape)[1].sum((-3, -2, -1))`` up to rounding (and to the
    Nyquist planes of even grids, where the sampled wavelets are not exactly Hermitian; the aliasing
    condition makes them negligible): ``(1/N) sum_k |x_hat(k)|^2 sum_m psi_m(k)^2`` over the full grid,
    the half grid of the real FFT counting its interior planes twice. For ``q = 2`` and no second order,
    this is the whole first-order coefficient, ``2l + 1`` inverse FFTs fewer per ``(l, j)``.
    """
    n = shape[0] * shape[1] * shape[2]
    nh = x_hat.shape[-1]
    w = torch.full((nh,), 2.0, dtype=filters.dtype, device=filters.device)
    w[0] = 1.0
    if shape[2] % 2 == 0:
        w[-1] = 1.0
    power = x_hat.real.square() + x_hat.imag.square()
    return (power * (filters.square().sum(0) * w)).sum(_DIMS) / n


def integrals(u: torch.Tensor, u2: torch.Tensor | None, qs, dv: float, nonnegative: bool = False) -> torch.Tensor:
    """``int u^q = dV * sum_grid u^q`` for each power ``q``: ``(..., Nx, Ny, Nz) -> (..., len(qs))``.

    Uses ``u2`` (``u^2``, already computed by :func:`filtered_modulus`) for ``q = 2`` and ``q = 3``.
    Fractional powers see ``max(u, 0)``: a band-limited density rings below zero at the level of its
    spectrum at the Nyquist frequency (the aliasing precision), and integer powers keep that ringing so
    that ``int rho = sum c_i`` holds to rounding. ``nonnegative=True`` (moduli) skips that clamp.
    """
    out = []
    for q in qs:
        if q == 1:
            v = u
        elif q == 2 and u2 is not None:
            v = u2
        elif q == 3 and u2 is not None:
            v = u2 * u
        elif q == 0.5:
            v = (u if nonnegative else u.clamp_min(0)).sqrt()
        elif q == int(q):
            v = u.pow(int(q))
        else:
            v = (u if nonnegative else u.clamp_min(0)).pow(q)
        out.append(v.sum(_DIMS))
    return torch.stack(out, -1) * dv
