"""The solid harmonic wavelets in Fourier space, and the filter bank built from them (thesis prop. 2.1.2, app. A.1).

One formula, :func:`wavelet_hat`; one builder, :func:`solid_harmonic_filter_bank`, which evaluates it on the
frequencies that each scale needs and keeps the result per device and dtype. Lengths are in one unit throughout
(Å for atoms, grid steps for raw grids); angular frequencies in radians per that unit.

Normalisation, and a correction to the thesis' closed form
-----------------------------------------------------------
The wavelet is ``psi_{l,m}(u) = K_l exp(-|u|^2/2) |u|^l Y_l^m(u/|u|)`` and ``K_l`` is *defined* (appendix A.1) by
``|| (sum_m |psi_{l,m}|^2)^{1/2} ||_1 = 1``. The addition theorem gives ``sum_m |Y_l^m|^2 = (2l+1)/(4 pi)``;
appendix A.1 uses ``(2l+1)/(2 pi)``, so its closed form of ``K_l`` is ``sqrt(2)`` too large (and the
single-Gaussian formula of A.4 drops the same factor, see :mod:`.analytic`). :func:`K_l` satisfies the defining
condition (checked by quadrature in the tests) and equals the constant used by kymatio; :func:`K_l_thesis` is the
printed closed form, kept for comparison.

Bands
-----
The wavelet of scale ``j`` is a Gaussian of width ``s = 2^j sigma_w`` times a polynomial in Fourier space, so it is
negligible beyond a frequency :func:`band_limit`. The bank keeps, for each scale, only the frequencies of a cube
inside that limit: at the working precision of the dtype in the exact mode (the rest is below rounding), or at a
chosen aliasing precision ``eps`` in the multi-resolution mode, where each scale is also returned on the coarsest
grid that holds its band (:func:`localbook.scattering3d.sampling.band_grid_shape`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import gammaln, sph_harm_y

from localbook.scattering3d.sampling import band_grid_shape

__all__ = ["K_l", "K_l_thesis", "scale_width", "frequency_grid", "real_solid_harmonics", "wavelet_hat",
           "band_limit", "Band", "PairedFilters", "FilterBank", "solid_harmonic_filter_bank", "working_precision"]


# --------------------------------------------------------------------------------------- normalisation
def K_l(l: int) -> float:
    """Normalising constant of the solid harmonic wavelet of degree ``l`` (appendix A.1, corrected).

    ``K_l = 1 / ( sqrt(4 pi (2l+1)) * I_l )`` with ``I_l = int_0^inf r^(l+2) exp(-r^2/2) dr
    = 2^((l+1)/2) Gamma((l+3)/2)``, so that ``int (sum_m |psi_{l,m}|^2)^{1/2} d^3u = 1``.
    """
    log_i = 0.5 * (l + 1) * math.log(2.0) + gammaln(0.5 * (l + 3))
    return float(math.exp(-log_i) / math.sqrt(4.0 * math.pi * (2 * l + 1)))


def K_l_thesis(l: int) -> float:
    """The closed form printed in the thesis (eq. A.1); ``sqrt(2)`` times :func:`K_l` (see module docstring)."""
    if l % 2 == 0:
        return 1.0 / (math.pi * math.sqrt(2 * l + 1) * math.prod(range(l + 1, 0, -2)))
    return 1.0 / (2 ** ((l + 1) / 2) * math.sqrt(2 * math.pi * (2 * l + 1)) * math.factorial((l + 1) // 2))


def scale_width(j: float, sigma_w: float) -> float:
    """Width ``2^j sigma_w`` of the wavelet of scale ``j`` (``j`` may be fractional)."""
    return float(2.0 ** j * sigma_w)


# --------------------------------------------------------------------------------- frequencies, formula
def frequency_grid(shape, lengths, device=None, dtype=torch.float64, half: bool = True):
    """Angular frequencies of the real-FFT half grid (``half=True``) or of the full FFT grid of a periodic box.

    Returns ``(wx, wy, wz)`` broadcastable tensors of shapes ``(N_x,1,1)``, ``(1,N_y,1)``, ``(1,1,N_z//2+1)``
    (or ``(1,1,N_z)``) in radians per length unit: ``w_a = 2 pi k / d_a`` (numpy/torch FFT ordering).
    """
    nx, ny, nz = shape
    dx, dy, dz = (float(d) for d in lengths)
    wx = 2 * math.pi * torch.fft.fftfreq(nx, d=dx / nx, device=device, dtype=dtype)
    wy = 2 * math.pi * torch.fft.fftfreq(ny, d=dy / ny, device=device, dtype=dtype)
    zfreq = torch.fft.rfftfreq if half else torch.fft.fftfreq
    wz = 2 * math.pi * zfreq(nz, d=dz / nz, device=device, dtype=dtype)
    return wx.view(-1, 1, 1), wy.view(1, -1, 1), wz.view(1, 1, -1)


def real_solid_harmonics(l: int, wx, wy, wz) -> np.ndarray:
    """Real solid harmonics ``|w|^l Y_{l,m}^real(w/|w|)`` for ``m = -l..l``, shape ``(2l+1,) + w.shape``.

    The real basis (``sqrt 2 Im Y_l^|m|`` for ``m < 0``, ``Y_l^0``, ``sqrt 2 Re Y_l^m`` for ``m > 0``) is a unitary
    change of basis of the complex ``Y_l^m`` within degree ``l``, so ``sum_m |.|^2`` -- hence the operator U -- is
    unchanged, while every wavelet becomes a real function of space: each convolution is then one real inverse
    FFT instead of one complex FFT (the ``psi_{l,-m} = (-1)^m conj(psi_{l,m})`` symmetry, used for speed).
    """
    wx, wy, wz = np.broadcast_arrays(np.asarray(wx, float), np.asarray(wy, float), np.asarray(wz, float))
    r = np.sqrt(wx ** 2 + wy ** 2 + wz ** 2)
    safe = np.where(r > 0, r, 1.0)
    theta = np.arccos(np.clip(wz / safe, -1.0, 1.0))
    phi = np.mod(np.arctan2(wy, wx), 2 * np.pi)
    rl = r ** l
    out = np.empty((2 * l + 1,) + r.shape)
    out[l] = sph_harm_y(l, 0, theta, phi).real * rl
    for m in range(1, l + 1):
        y = sph_harm_y(l, m, theta, phi) * rl
        out[l + m] = math.sqrt(2.0) * y.real
        out[l - m] = math.sqrt(2.0) * y.imag
    if l > 0:
        out[:, r == 0] = 0.0
    return out


def wavelet_hat(l: int, j: float, sigma_w: float, wx, wy, wz, angular: np.ndarray | None = None) -> np.ndarray:
    """The Fourier transforms of the real solid harmonic wavelets ``psi_{l,m,j}``, ``m = -l..l``, divided by
    ``(-i)^(l mod 2)``: a real float64 array of shape ``(2l+1,) + w.shape``. The one place the formula is written.

    ``psi_hat_{l,m,j}(w) = K_l (2 pi)^{3/2} (-i)^l (s |w|)^l exp(-s^2 |w|^2 / 2) Y_{l,m}(w/|w|)``, ``s = 2^j sigma_w``
    (proposition 2.1.2, with the ``(2 pi)^{3/2}`` of the unitary Gaussian transform). A real wavelet has a real
    (even ``l``) or imaginary (odd ``l``) transform; ``(-i)^l = (-1)^(l//2) (-i)^(l mod 2)``, so the sign
    ``(-1)^(l//2)`` is included here and the remaining ``-i`` of odd degrees is applied to the input spectrum
    once per degree (:func:`localbook.scattering3d.core.scattering`).

    ``angular``: ``real_solid_harmonics(l, wx, wy, wz)`` when the caller already has it (it does not depend on
    ``j``: the filter bank evaluates it once per frequency band, not once per scale).
    """
    s = scale_width(j, sigma_w)
    wx, wy, wz = (np.asarray(a, float) for a in (wx, wy, wz))
    w2 = wx ** 2 + wy ** 2 + wz ** 2
    radial = (-1) ** (l // 2) * K_l(l) * (2 * math.pi) ** 1.5 * s ** l * np.exp(-0.5 * s * s * w2)
    if angular is None:
        angular = real_solid_harmonics(l, wx, wy, wz)
    return angular * radial


def band_limit(ls, width: float, eps: float) -> float:
    """Angular frequency beyond which every wavelet of degrees ``ls`` and width ``width`` stays below ``eps`` times
    its own maximum (radians per length unit).

    The envelope of degree ``l`` is ``(s w)^l exp(-(s w)^2 / 2)`` (:func:`wavelet_hat` bounded over ``m`` by the
    addition theorem), maximal at ``s w = sqrt(l)`` and decreasing beyond: the limit is the root beyond the peak.
    """
    if not 0 < eps < 1:
        raise ValueError(f"eps={eps!r} must be in (0, 1)")

    def log_ratio(x, l):  # log of envelope(x) / max envelope - log eps, x = s w
        peak = 0.5 * l * (math.log(l) - 1) if l > 0 else 0.0
        return (l * math.log(x) if l > 0 else 0.0) - 0.5 * x * x - peak - math.log(eps)

    x_max = 0.0
    for l in ls:
        lo = math.sqrt(l) if l > 0 else 1e-12  # the peak, where the ratio is 1 > eps
        hi = lo + 1.0
        while log_ratio(hi, l) > 0:
            hi *= 2
        x_max = max(x_max, brentq(log_ratio, lo, hi, args=(l,)))
    return x_max / width


def working_precision(dtype) -> float:
    """Relative size below which a filter value cannot change a result computed in ``dtype`` (its machine epsilon)."""
    return float(torch.finfo(dtype).eps)


# ------------------------------------------------------------------------------------------ the bank
@dataclass(frozen=True)
class Band:
    """The frequencies one scale keeps, and the grid its convolutions are returned on.

    ``half``: highest kept frequency index ``K`` along each axis (``None``: the whole axis of the input grid), the
    kept indices being ``0..K`` and ``-K..-1`` (FFT order) of the full spectrum; ``shape``: the output grid (the
    input grid in the exact mode, a coarser one in the multi-resolution mode).
    """

    half: tuple
    shape: tuple

    def indices(self, axis: int, n: int) -> np.ndarray:
        """Indices of the kept frequencies along ``axis`` of a full spectrum of ``n`` points on that axis."""
        k = self.half[axis]
        if k is None:
            return np.arange(n)
        return np.concatenate([np.arange(k + 1), np.arange(n - k, n)])


@dataclass(frozen=True)
class PairedFilters:
    """Real wavelets packed two by two into complex filters, so that one complex inverse FFT gives two real
    convolutions (the real and imaginary parts), the classic "two real FFTs for the price of one".

    ``filters`` ``(P, bx, by, bz)`` complex on a :class:`Band` of the full spectrum: ``c_a f_a + i c_b f_b`` for the
    real filters ``f = wavelet_hat`` of two wavelets ``a``, ``b``, with ``c = 1`` for even degrees and ``-i`` for odd
    ones (the ``(-i)^(l mod 2)`` that :func:`wavelet_hat` leaves out). Each product ``c x_hat f`` is the (Hermitian)
    spectrum of a real convolution, so the inverse transform of ``x_hat * filters[p]`` is ``x * psi_a + i x * psi_b``.
    ``degrees[p] = (l_a, l_b)``, ``l_b = None`` when the last wavelet had no partner. ``halves`` ``(P, 2, bx, by, bz)``:
    the two terms ``c_a f_a`` and ``i c_b f_b`` apart, for pairs whose wavelets filter two different inputs (the
    second order ``U_{l,j2}[U_{l,j1}]`` of two degrees ``l``: one transform for both).
    ``power`` ``(len(ls), bx, by, bz)``: ``sum_m |f_{l,m}|^2`` per degree, for Parseval's ``int U^2``.
    ``anti`` ``(P, bx, by, len(planes))``: on the self-conjugate planes ``kz = 0, Nz/2`` (positions ``planes`` in the
    band), the anti-Hermitian parts of the sampled filters, packed likewise; a real inverse FFT of a half spectrum
    that is not Hermitian there (:func:`.backend.density_hat`'s) keeps their product with the input's anti-Hermitian
    part (:func:`.backend.nyquist_correction`).
    """

    ls: tuple
    filters: torch.Tensor
    degrees: tuple
    power: torch.Tensor
    halves: torch.Tensor
    anti: torch.Tensor
    planes: tuple


@dataclass
class FilterBank:
    """The wavelets of a grid, per scale: :attr:`bands` ``[j]`` and the paired filters of all degrees
    :attr:`all_degrees` ``[j]`` (:class:`PairedFilters`).

    ``shape``, ``lengths``: the input grid; ``eps``: the precision of the bands; ``oversampling``: ``None`` (exact
    mode) or the factor of the multi-resolution grids (each scale on its own grid ``bands[j].shape``).
    """

    shape: tuple
    lengths: tuple
    js: tuple
    ls: tuple
    sigma_w: float
    eps: float
    oversampling: float | None
    bands: dict = field(default_factory=dict)
    all_degrees: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for g in self.all_degrees.values()
                   for t in (g.filters, g.power, g.halves))


def _band(shape, lengths, w_max: float, oversampling: float | None) -> Band:
    if oversampling is None:  # exact: the whole spectrum (cropping a band saves nothing on a full-size FFT)
        return Band((None, None, None), tuple(shape))
    out_shape = band_grid_shape(shape, lengths, w_max, oversampling)
    half = []
    for n, n_out, d in zip(shape, out_shape, lengths, strict=True):
        k = int(math.floor(w_max * d / (2 * math.pi) + 1e-9))
        half.append(min(k, n_out // 2 - 1) if n_out < n else None)  # coarser grid: below its Nyquist frequency
    return Band(tuple(half), tuple(out_shape))


def _hermitian(g: np.ndarray, mirror, kz: np.ndarray, nz: int) -> np.ndarray:
    """The Hermitian filter that a real inverse FFT of the half spectrum ``g[..., kz <= nz/2]`` applies: the values on
    the non-negative ``kz`` half as sampled, ``conj(g(-k))`` on the negative half, and on the self-conjugate planes
    ``kz = 0`` and ``kz = nz/2`` the mean of the two. ``mirror[a]`` maps each kept index to that of ``-k``.

    A sampled odd wavelet is not Hermitian on the Nyquist planes of an even grid (``-N/2`` is sampled where ``+N/2``
    is meant). With this filter each half of a packed pair is exactly the real convolution a real inverse FFT gives
    (main's numbers before the packing), and nothing leaks between the two halves."""
    g_minus = np.conj(g[..., mirror[0], :, :][..., mirror[1], :][..., mirror[2]])
    negative = kz > nz // 2
    self_conjugate = (kz == 0) | (2 * kz == nz)
    return np.where(negative, g_minus, np.where(self_conjugate, 0.5 * (g + g_minus), g))


def _pair(real_filters: dict, ls, mirror, kz, nz, device, dtype) -> PairedFilters:
    """Pack the real filters ``{l: (2l+1, ...)}`` of the degrees ``ls`` two by two (see :class:`PairedFilters`)."""
    raw = [(l, (1.0 if l % 2 == 0 else -1j) * f) for l in ls for f in real_filters[l]]
    items = [(l, _hermitian(g, mirror, kz, nz)) for l, g in raw]
    planes = tuple(int(i) for i in np.flatnonzero((kz == 0) | (2 * kz == nz)))
    ctype = torch.complex64 if dtype == torch.float32 else torch.complex128
    halves = np.zeros((-(-len(items) // 2), 2) + items[0][1].shape, dtype=complex)  # filled in place: no stacking
    anti, degrees = [], []
    for p in range(0, len(items), 2):
        (la, fa), (lb, fb) = items[p], (items[p + 1] if p + 1 < len(items) else (None, None))
        halves[p // 2, 0] = fa
        ga = raw[p][1][..., planes] - fa[..., planes]  # sampled minus Hermitian part: the anti-Hermitian part
        gb = 0.0
        if fb is not None:
            np.multiply(fb, 1j, out=halves[p // 2, 1])
            gb = raw[p + 1][1][..., planes] - fb[..., planes]
        anti.append(ga + 1j * gb)
        degrees.append((la, lb))
    halves = torch.as_tensor(halves, dtype=ctype, device=device)
    power = np.stack([sum(np.abs(f) ** 2 for l, f in items if l == l_) for l_ in ls])
    return PairedFilters(tuple(ls), halves.sum(1), tuple(degrees), torch.as_tensor(power, dtype=dtype, device=device),
                         halves, torch.as_tensor(np.stack(anti), dtype=ctype, device=device), planes)


def _mirror(band: Band, shape) -> list:
    """For each axis, the position in the band of ``-k`` for each kept ``k`` (the band is symmetric)."""
    out = []
    for a, n in enumerate(shape):
        idx = band.indices(a, n)
        where = {int(k): i for i, k in enumerate(idx)}
        out.append(np.array([where[int(-k % n)] for k in idx]))
    return out


@lru_cache(maxsize=16)
def _cached_bank(shape, lengths, js, ls, sigma_w, eps, oversampling, device, dtype) -> FilterBank:
    bank = FilterBank(shape, lengths, js, ls, sigma_w, eps, oversampling)
    wx, wy, wz = (w.numpy().copy() for w in frequency_grid(shape, lengths, half=False))
    if shape[2] % 2 == 0:  # the z Nyquist plane at +pi, where the real FFT's half grid (rfftfreq) samples it
        wz[..., shape[2] // 2] *= -1
    angular_of_band = {}  # the angular part is the same at every scale: once per band (once in exact mode)
    for j in js:
        band = _band(shape, lengths, band_limit(ls, scale_width(j, sigma_w), eps), oversampling)
        bank.bands[j] = band
        indices = [band.indices(a, n) for a, n in enumerate(shape)]
        fx, fy, fz = (np.take(w, idx, axis=a) for a, (w, idx) in enumerate(zip((wx, wy, wz), indices, strict=True)))
        key = tuple(idx.tobytes() for idx in indices)
        if key not in angular_of_band:
            angular_of_band = {key: {l: real_solid_harmonics(l, fx, fy, fz) for l in ls}}  # keep only the last band
        real = {l: wavelet_hat(l, j, sigma_w, fx, fy, fz, angular=angular_of_band[key][l]) for l in ls}
        bank.all_degrees[j] = _pair(real, ls, _mirror(band, shape), band.indices(2, shape[2]), shape[2], device,
                                    dtype)
    return bank


def solid_harmonic_filter_bank(shape, lengths, js, ls, sigma_w: float, *, eps: float | None = None,
                               oversampling: float | None = None, device="cpu", dtype=torch.float32) -> FilterBank:
    """The filter bank of a grid ``shape`` (points) of box ``lengths``: every ``(l, j)`` wavelet, packed in pairs
    (:class:`PairedFilters`), on the whole spectrum (exact mode).

    Multi-resolution mode (``oversampling`` given): each scale keeps only the frequencies where its wavelets exceed
    ``eps`` times their maximum (thesis section 2.2.1's aliasing precision, applied to the wavelet of that scale) and
    lands on the coarsest grid that holds that band ``oversampling`` times over (:func:`.sampling.band_grid_shape`).
    Built once per set of arguments, device and dtype (cached).
    """
    eps = working_precision(dtype) if eps is None else float(eps)
    return _cached_bank(tuple(int(n) for n in shape), tuple(float(d) for d in lengths), tuple(float(j) for j in js),
                        tuple(int(l) for l in ls), float(sigma_w), eps,
                        None if oversampling is None else float(oversampling), torch.device(device), dtype)
