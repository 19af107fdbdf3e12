"""Torch tensor work of the scattering transform: densities in Fourier space, band-limited inverse FFTs, modulus
and integrals.

Every function takes tensors already on their device and returns tensors on the same device, batched over any
leading axes. Shapes: ``A`` atoms (padded with zero weights), ``C`` channels, ``P`` paired filters
(:class:`.filters.PairedFilters`), ``(Nx, Ny, Nz)`` a grid and ``Nh = Nz//2 + 1`` the last axis of its real FFT; a
*band* (:class:`.filters.Band`) keeps ``bx, by, bz`` frequencies of a full spectrum and names the grid its inverse
transform lands on.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

from localbook.scattering3d.filters import Band, PairedFilters, frequency_grid

__all__ = ["density_hat", "to_space", "to_fourier", "full_spectrum", "spectrum_band", "filtered_band", "band_inverse",
           "paired_moduli", "integrals", "moduli_integrals", "parseval_integrals"]

_DIMS = (-3, -2, -1)


def density_hat(positions: torch.Tensor, weights: torch.Tensor, shape, lengths, sigma: float,
                dtype=torch.float32) -> torch.Tensor:
    """Real-FFT coefficients of the sampled density ``rho = sum_i c_i g_sigma(r - r_i)`` (thesis eq. 2.1-2.2).

    ``positions`` ``(B, A, 3)`` in the length unit of ``lengths`` (the periodic box, origin at grid point 0),
    ``weights`` ``(B, A, C)`` (zero rows pad structures with fewer atoms). Returns ``(B, C, Nx, Ny, Nh)``
    complex: ``rho_hat(w_k) / dV``, the DFT of the samples ``rho(n * step)`` of the periodised density up
    to aliasing (which the width condition of :func:`.sampling.gaussian_width_for_aliasing` bounds).

    The structure factor ``sum_i c_i exp(-i w.r_i)`` is separable in x, y, z: one batched complex matrix
    product over atoms (no loop over atoms or voxels), with phases in float64 (``w.r`` reaches hundreds of
    radians). The Gaussian's transform is ``exp(-sigma^2 |w|^2 / 2)`` (eq. 2.2).
    """
    b, a, _ = positions.shape
    c = weights.shape[-1]
    nx, ny, nz = shape
    wx, wy, wz = frequency_grid(shape, lengths, device=positions.device, dtype=torch.float64)
    pos = positions.to(torch.float64)
    ex = torch.exp(-1j * pos[..., 0:1] * wx.view(1, 1, -1))  # (B, A, Nx)
    ey = torch.exp(-1j * pos[..., 1:2] * wy.view(1, 1, -1))
    ez = torch.exp(-1j * pos[..., 2:3] * wz.view(1, 1, -1))
    ctype = torch.complex64 if dtype == torch.float32 else torch.complex128
    pxy = (ex[:, :, :, None] * ey[:, :, None, :]).reshape(b, a, nx * ny).to(ctype)
    qz = (weights.to(torch.float64)[:, :, :, None] * ez[:, :, None, :]).reshape(b, a, -1).to(ctype)
    sf = torch.bmm(pxy.transpose(1, 2), qz).reshape(b, nx, ny, c, -1).permute(0, 3, 1, 2, 4)
    dv = math.prod(float(d) for d in lengths) / (nx * ny * nz)
    g = (torch.exp(-0.5 * sigma ** 2 * (wx ** 2 + wy ** 2 + wz ** 2)) / dv).to(dtype)
    return sf * g


def to_space(x_hat: torch.Tensor, shape) -> torch.Tensor:
    """Inverse real FFT over the last three axes back to a real grid of ``shape``."""
    return torch.fft.irfftn(x_hat, s=tuple(shape), dim=_DIMS)


def to_fourier(x: torch.Tensor) -> torch.Tensor:
    """Real FFT over the last three axes."""
    return torch.fft.rfftn(x, dim=_DIMS)


@lru_cache(maxsize=512)
def _indices(band: Band, axis: int, n: int, negate: bool, device: torch.device):
    """Kept indices of ``band`` along ``axis`` of ``n`` points (their negatives mod ``n`` when ``negate``)."""
    idx = band.indices(axis, n)
    return torch.as_tensor((-idx) % n if negate else idx, device=device)


def _mirror_plane(plane: torch.Tensor) -> torch.Tensor:
    """``conj(p(-kx, -ky))`` of planes ``(..., Nx, Ny)`` in FFT order."""
    return plane.flip((-2, -1)).roll((1, 1), (-2, -1)).conj()


def full_spectrum(x_half: torch.Tensor, nz: int) -> torch.Tensor:
    """The full FFT ``(..., Nx, Ny, Nz)`` of real fields from their real-FFT half ``(..., Nx, Ny, Nz//2+1)``, by
    Hermitian symmetry ``x_hat(-k) = conj(x_hat(k))`` (two copies; cheaper than a complex FFT of the field).

    The self-conjugate planes ``kz = 0`` and ``kz = Nz/2`` are replaced by their Hermitian parts, which is all a real
    inverse FFT reads of them: a spectrum computed in closed form (:func:`density_hat`) is not exactly Hermitian on
    the Nyquist planes (the continuous transform is evaluated there, not the DFT of real samples), and a packed pair
    of convolutions must not see that part, or it would leak from one half into the other."""
    nh = x_half.shape[-1]
    planes = [0] + ([nz // 2] if nz % 2 == 0 else [])
    fixed = [0.5 * (x_half[..., k] + _mirror_plane(x_half[..., k])) for k in planes]
    middle = x_half[..., 1:nz // 2] if nz % 2 == 0 else x_half[..., 1:]
    tail = x_half[..., 1:nz - nh + 1].flip((-3, -2, -1)).roll((1, 1), (-3, -2)).conj()
    parts = [fixed[0][..., None], middle] + ([fixed[1][..., None]] if nz % 2 == 0 else []) + [tail]
    return torch.cat(parts, -1)


def filtered_band(x_half: torch.Tensor, band: Band, shape, filters: PairedFilters) -> torch.Tensor:
    """The products ``x_hat * filters`` ``(..., P, bx, by, bz)`` on ``band``: what one inverse FFT per pair turns into
    two real convolutions each.

    On the whole spectrum, the self-conjugate planes ``kz = 0, Nz/2`` get what a real inverse FFT of the half
    spectrum ``x_half * f`` would read there: the Hermitian part of the product, which also holds the product of the
    anti-Hermitian parts of input and filter when the input is not Hermitian there (a spectrum in closed form). So
    every input gives the numbers of a real inverse FFT per wavelet, to rounding."""
    x_band = spectrum_band(x_half, band, shape)
    product = x_band.unsqueeze(-4) * filters.filters
    if all(k is None for k in band.half) and filters.planes:
        x_planes = x_half[..., list(filters.planes)]
        anti = 0.5 * (x_planes - _mirror_plane(x_planes.movedim(-1, 0)).movedim(0, -1))
        product[..., list(filters.planes)] += anti.unsqueeze(-4) * filters.anti
    return product


def spectrum_band(x_half: torch.Tensor, band: Band, shape) -> torch.Tensor:
    """The frequencies of ``band`` of the *full* spectrum of real fields, from their real-FFT half spectrum
    ``(..., Nx, Ny, Nh)`` on a grid of ``shape``: ``(..., bx, by, bz)``.

    The missing half follows from Hermitian symmetry; for a band narrower than the grid only the band is gathered.
    """
    nx, ny, nz = (int(n) for n in shape)
    if all(k is None for k in band.half):
        return full_spectrum(x_half, nz)
    kz = band.indices(2, nz)
    pos = kz[kz <= nz // 2]
    neg = nz - kz[kz > nz // 2]  # the half-spectrum planes whose conjugates they are, in band order
    dev = x_half.device
    ix, iy = _indices(band, 0, nx, False, dev), _indices(band, 1, ny, False, dev)
    out = x_half[..., :len(pos)].index_select(-2, iy).index_select(-3, ix)  # 0..K: a leading slice along z
    if len(neg) == 0:
        return out
    mx, my = _indices(band, 0, nx, True, dev), _indices(band, 1, ny, True, dev)
    low = x_half.index_select(-1, torch.as_tensor(neg, device=dev)).index_select(-2, my).index_select(-3, mx)
    return torch.cat([out, low.conj()], -1)


def _blocks(k, n_out: int, n_band: int):
    """(destination, source) slices that place a band ``0..K, -K..-1`` of ``n_band`` values on ``n_out`` points."""
    if k is None:
        return [(slice(None), slice(None))]
    return [(slice(0, k + 1), slice(0, k + 1)), (slice(n_out - k, n_out), slice(k + 1, n_band))]


def band_inverse(p: torch.Tensor, band: Band, shape) -> torch.Tensor:
    """Inverse FFT of a full spectrum ``p`` ``(..., bx, by, bz)`` known on ``band`` (zero elsewhere) of a grid of
    ``shape``, onto the grid ``band.shape``: the values of ``(1/N) sum_k p_k exp(i k.r)`` at its points (complex).

    On a coarser output grid (multi-resolution mode) the band is placed in a zero spectrum of that grid by eight
    block copies, then one ``ifftn`` of the small grid. (Pruned FFTs, transforming only the non-zero lines of a
    narrow band on the full grid, measured no faster than MKL's ``ifftn`` here: strided 1-D transforms cost more
    than they save.)
    """
    out = tuple(band.shape)
    if tuple(p.shape[-3:]) != out:
        a = p.new_zeros(p.shape[:-3] + out)
        for dx, sx in _blocks(band.half[0], out[0], p.shape[-3]):
            for dy, sy in _blocks(band.half[1], out[1], p.shape[-2]):
                for dz, sz in _blocks(band.half[2], out[2], p.shape[-1]):
                    a[..., dx, dy, dz] = p[..., sx, sy, sz]
        p = a
    u = torch.fft.ifftn(p, dim=_DIMS)
    ratio = math.prod(out) / math.prod(int(n) for n in shape)
    return u if ratio == 1 else u * ratio


def paired_moduli(z: torch.Tensor, filters: PairedFilters) -> dict:
    """``U_l^2 = sum_m (x * psi_{l,m})^2`` per degree ``l`` from the inverse transforms ``z`` ``(..., P, X, Y, Z)``
    of the products with :class:`~.filters.PairedFilters` (real part: wavelet ``a``, imaginary part: ``b``).

    Accumulated in place with ``addcmul_`` (8x faster on the CPU than a strided ``square().sum()``)."""
    u2 = {}
    for p, degrees in enumerate(filters.degrees):
        zp = z.select(-4, p)
        for part, l in zip((zp.real, zp.imag), degrees, strict=True):
            if l is None:
                continue
            if l in u2:
                u2[l].addcmul_(part, part)
            else:
                u2[l] = part.square()
    return u2


def moduli_integrals(u2: torch.Tensor, qs, dv: float, keep_u: bool = False):
    """``U = sqrt(U^2)`` and its integrals ``dV sum_grid U^q`` for each power: ``(U or None, (..., len(qs)))``.
    ``U`` itself is only formed when a power or the next order needs it."""
    u = u2.sqrt() if keep_u or any(q != 2 for q in qs) else None
    return (u if keep_u else None), integrals(u, u2, qs, dv, nonnegative=True)


def integrals(u: torch.Tensor | None, u2: torch.Tensor | None, qs, dv: float,
              nonnegative: bool = False) -> torch.Tensor:
    """``int u^q = dV * sum_grid u^q`` for each power ``q``: ``(..., Nx, Ny, Nz) -> (..., len(qs))``.

    Uses ``u2`` (``u^2``, when the caller has it) for ``q = 2`` and ``q = 3``. Fractional powers see
    ``max(u, 0)``: a band-limited density rings below zero at the level of its spectrum at the Nyquist frequency
    (the aliasing precision), and integer powers keep that ringing so that ``int rho = sum c_i`` holds to
    rounding. ``nonnegative=True`` (moduli) skips that clamp.
    """
    out = []
    for q in qs:
        if q == 2 and u2 is not None:
            v = u2
        elif q == 1:
            v = u
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


def parseval_integrals(x_band: torch.Tensor, filters: PairedFilters, shape, dv: float) -> torch.Tensor:
    """``int U_l^2 = dV sum_m sum_grid |x * psi_{l,m}|^2`` per degree by Parseval, with no inverse FFT:
    ``(..., len(filters.ls))``.

    ``x_band`` ``(..., bx, by, bz)``: the band of the full spectrum of a grid of ``shape``;
    ``(1/N) sum_k |x_hat(k)|^2 sum_m psi_{l,m}(k)^2``. Equal to the grid sum of ``U^2`` (up to rounding and to the
    Nyquist planes of even grids, where the sampled odd wavelets are not exactly Hermitian; the aliasing condition
    makes them negligible): for ``q = 2`` alone this is the whole coefficient, ``2l + 1`` inverse FFTs fewer.
    """
    power = x_band.real.square() + x_band.imag.square()
    n = math.prod(int(s) for s in shape)
    return (power.unsqueeze(-4) * filters.power).sum(_DIMS) * (dv / n)
