"""The mathematics of the solid harmonic scattering transform (thesis ch. 2.1-2.2, appendix A).

Plain functions of numbers and arrays, no argument parsing: the front end (:mod:`.frontend`) validates.
Lengths are in one unit throughout (Å for atoms, grid steps for raw grids); angular frequencies in
radians per that unit.

Normalisation, and two corrections to the thesis' closed forms
-----------------------------------------------------------------
The wavelet is ``psi_{l,m}(u) = K_l exp(-|u|^2/2) |u|^l Y_l^m(u/|u|)`` and ``K_l`` is *defined* (appendix
A.1) by ``|| (sum_m |psi_{l,m}|^2)^{1/2} ||_1 = 1``. The addition theorem gives
``sum_m |Y_l^m|^2 = (2l+1)/(4 pi)``; appendix A.1 uses ``(2l+1)/(2 pi)``, so its closed form of ``K_l`` is
``sqrt(2)`` too large, and the single-Gaussian formula of A.4 drops the same factor. :func:`K_l` below
satisfies the defining condition (checked by quadrature in the tests) and equals the constant used by
kymatio; :func:`K_l_thesis` is the printed closed form, kept for comparison.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy.special import gammaln, sph_harm_y

__all__ = [
    "K_l", "K_l_thesis", "gaussian_width_for_aliasing", "aliasing_precision", "min_distance_for_overlap",
    "overlap_precision", "smooth_size", "grid_shape_for_lengths", "frequency_grid", "real_solid_harmonics",
    "wavelet_hat", "gaussian_hat", "analytic_first_order", "analytic_first_order_integral",
    "analytic_order0_integral", "scale_width",
]


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
        return 1.0 / (math.pi * math.sqrt(2 * l + 1) * _double_factorial(l + 1))
    return 1.0 / (2 ** ((l + 1) / 2) * math.sqrt(2 * math.pi * (2 * l + 1)) * math.factorial((l + 1) // 2))


def _double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


# --------------------------------------------------------------------------------- sampling conditions
def gaussian_width_for_aliasing(n_atoms: int, eps_a: float) -> float:
    """Gaussian width ``sigma`` in grid steps such that ``|rho_hat| < eps_a`` outside ``[-pi, pi]^3``.

    Thesis section 2.2.1: ``sigma = (1/pi) sqrt(2 log(N_a / eps_a))`` for ``N_a`` atoms of unit weight.
    """
    return math.sqrt(2.0 * math.log(n_atoms / eps_a)) / math.pi


def aliasing_precision(n_atoms: int, sigma_steps: float) -> float:
    """The precision ``eps_a = N_a exp(-pi^2 sigma^2 / 2)`` reached by a width ``sigma`` in grid steps
    (the inverse of :func:`gaussian_width_for_aliasing`)."""
    return n_atoms * math.exp(-0.5 * (math.pi * sigma_steps) ** 2)


def min_distance_for_overlap(sigma: float, eps_o: float) -> float:
    """Smallest interatomic distance ``Delta = sigma sqrt(-8 log eps_o)`` (thesis eq. 2.3), same unit as
    ``sigma``: two Gaussians further apart overlap, at mid-distance, by less than ``eps_o`` of their peak."""
    return sigma * math.sqrt(-8.0 * math.log(eps_o))


def overlap_precision(sigma: float, distance: float) -> float:
    """Overlap ``g(Delta/2)/g(0) = exp(-Delta^2 / (8 sigma^2))`` of two Gaussians ``distance`` apart."""
    return math.exp(-(distance ** 2) / (8.0 * sigma ** 2))


# ----------------------------------------------------------------------------------------- grid shapes
@lru_cache(maxsize=None)
def _smooth_numbers(limit: int) -> tuple[int, ...]:
    out = []
    p2 = 1
    while p2 <= limit:
        p3 = p2
        while p3 <= limit:
            p5 = p3
            while p5 <= limit:
                out.append(p5)
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return tuple(sorted(out))


def smooth_size(n: float, even: bool = True) -> int:
    """Smallest integer ``>= n`` whose prime factors are 2, 3 and 5 (fast FFT sizes); even when asked
    (real FFTs of even length keep the Nyquist frequency on the grid)."""
    n = max(int(math.ceil(n - 1e-9)), 2)
    for s in _smooth_numbers(4 * n + 16):
        if s >= n and (not even or s % 2 == 0):
            return s
    raise AssertionError("unreachable")  # pragma: no cover


def grid_shape_for_lengths(lengths, spacing: float) -> tuple[int, int, int]:
    """Grid shape ``(N_x, N_y, N_z)`` of 2-3-5-smooth even sizes for a box of ``lengths`` so that every step
    ``d_a / N_a`` is at most ``spacing`` (and as close to it as the smooth sizes allow; thesis section 2.6.1)."""
    return tuple(smooth_size(float(d) / spacing) for d in lengths)


def frequency_grid(shape, lengths, device=None, dtype=torch.float64):
    """Angular frequencies of the real-FFT half grid of a periodic box.

    Returns ``(wx, wy, wz)`` broadcastable tensors of shapes ``(N_x,1,1)``, ``(1,N_y,1)``, ``(1,1,N_z//2+1)``
    in radians per length unit: ``w_a = 2 pi k / d_a`` (numpy/torch FFT ordering).
    """
    nx, ny, nz = shape
    dx, dy, dz = (float(d) for d in lengths)
    wx = 2 * math.pi * torch.fft.fftfreq(nx, d=dx / nx, device=device, dtype=dtype)
    wy = 2 * math.pi * torch.fft.fftfreq(ny, d=dy / ny, device=device, dtype=dtype)
    wz = 2 * math.pi * torch.fft.rfftfreq(nz, d=dz / nz, device=device, dtype=dtype)
    return wx.view(-1, 1, 1), wy.view(1, -1, 1), wz.view(1, 1, -1)


# --------------------------------------------------------------------------------- wavelets in Fourier
def real_solid_harmonics(l: int, wx: np.ndarray, wy: np.ndarray, wz: np.ndarray) -> np.ndarray:
    """Real solid harmonics ``|w|^l Y_{l,m}^real(w/|w|)`` for ``m = -l..l``, shape ``(2l+1,) + w.shape``.

    The real basis (``sqrt 2 Re Y_l^m``, ``Y_l^0``, ``sqrt 2 Im Y_l^m``) is a unitary change of basis of the
    complex ``Y_l^m`` within degree ``l``, so ``sum_m |.|^2`` -- hence the operator U -- is unchanged, while
    every wavelet becomes a real function of space: each convolution is then one real inverse FFT instead
    of one complex FFT (this is the ``psi_{l,-m} = (-1)^m conj(psi_{l,m})`` symmetry used for speed).
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


def scale_width(j: float, sigma_w: float) -> float:
    """Width ``2^j sigma_w`` of the wavelet of scale ``j`` (``j`` may be fractional)."""
    return float(2.0 ** j * sigma_w)


def gaussian_hat(w2: torch.Tensor, sigma: float) -> torch.Tensor:
    """Fourier transform ``exp(-sigma^2 |w|^2 / 2)`` of the normalised Gaussian ``g_sigma`` (thesis eq. 2.2)."""
    return torch.exp(-0.5 * sigma ** 2 * w2)


def wavelet_hat(l: int, j: float, sigma_w: float, wx, wy, wz) -> np.ndarray:
    """Fourier transform of the real solid harmonic wavelets ``psi_{l,m,j}``, ``m = -l..l`` (float64 numpy).

    ``psi_hat_{l,m,j}(w) = K_l (2 pi)^{3/2} (-i)^l (s |w|)^l exp(-s^2 |w|^2 / 2) Y_{l,m}(w/|w|)``, ``s = 2^j sigma_w``
    (proposition 2.1.2 with the ``(2 pi)^{3/2}`` of the unitary Gaussian transform). Returns the real part
    of ``psi_hat / (-i)^l``, shape ``(2l+1,) + w.shape``; the caller multiplies by ``(-i)^l``.
    """
    s = scale_width(j, sigma_w)
    wx, wy, wz = (np.asarray(a, float) for a in (wx, wy, wz))
    w2 = wx ** 2 + wy ** 2 + wz ** 2
    radial = K_l(l) * (2 * math.pi) ** 1.5 * s ** l * np.exp(-0.5 * s * s * w2)
    return real_solid_harmonics(l, wx, wy, wz) * radial


# ----------------------------------------------------------------------------------- analytic formulas
def _s_and_k(l, j, sigma, sigma_w):
    sw = scale_width(j, sigma_w)
    s = math.sqrt(sw ** 2 + sigma ** 2)
    return s, s / sw


def analytic_first_order(r, l: int, j: float, sigma: float, sigma_w: float):
    """``U_{l,j}[g_sigma](r)`` for one normalised Gaussian at the origin (appendix A.4, corrected).

    ``U = (K_l / (k^l s_j^3)) sqrt((2l+1)/(4 pi)) exp(-r^2 / (2 s_j^2)) (r/s_j)^l`` with
    ``s_j = sqrt((2^j sigma_w)^2 + sigma^2)``, ``k = s_j / (2^j sigma_w)``; ``r`` a distance (array).
    The factor ``sqrt((2l+1)/(4 pi))`` is ``(sum_m |Y_l^m|^2)^{1/2}``, dropped in the thesis' A.4.
    """
    s, k = _s_and_k(l, j, sigma, sigma_w)
    amp = K_l(l) / (k ** l * s ** 3) * math.sqrt((2 * l + 1) / (4 * math.pi))
    x = np.asarray(r, float) / s
    return amp * np.exp(-0.5 * x * x) * x ** l


def analytic_first_order_integral(l: int, j: float, sigma: float, sigma_w: float, q: float) -> float:
    """``int U_{l,j}[g_sigma]^q d^3r`` for one normalised Gaussian; ``= k^-l`` for ``q = 1``."""
    s, k = _s_and_k(l, j, sigma, sigma_w)
    amp = K_l(l) / (k ** l * s ** 3) * math.sqrt((2 * l + 1) / (4 * math.pi))
    a = l * q + 2.0  # int_0^inf t^a exp(-q t^2/2) dt = Gamma((a+1)/2) / (2 (q/2)^((a+1)/2))
    radial = math.exp(gammaln((a + 1) / 2)) / (2 * (q / 2) ** ((a + 1) / 2))
    return amp ** q * 4 * math.pi * s ** 3 * radial


def analytic_order0_integral(sigma: float, q: float, weight: float = 1.0) -> float:
    """``int (c g_sigma)^q d^3r = c^q (2 pi sigma^2)^{3(1-q)/2} q^{-3/2}`` for one Gaussian of weight ``c``."""
    return weight ** q * (2 * math.pi * sigma ** 2) ** (1.5 * (1 - q)) * q ** -1.5
