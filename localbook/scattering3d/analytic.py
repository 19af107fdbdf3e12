"""Closed forms for one normalised Gaussian ``g_sigma`` (appendix A.4, corrected): the oracles of the tests and of
chapter 01. Lengths in one unit; ``sigma`` the Gaussian width, ``sigma_w`` the width of the wavelet of scale 0.

The thesis' A.4 drops the factor ``((2l+1)/(4 pi))^{1/2} = (sum_m |Y_l^m|^2)^{1/2}`` (see :mod:`.filters`);
it is restored here, and the grid computation matches these formulas (``tests/test_scattering3d.py``).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from localbook.scattering3d.filters import K_l, scale_width

__all__ = ["analytic_first_order", "analytic_first_order_integral", "analytic_order0_integral"]


def _s_and_k(j, sigma, sigma_w):
    sw = scale_width(j, sigma_w)
    s = math.sqrt(sw ** 2 + sigma ** 2)
    return s, s / sw


def analytic_first_order(r, l: int, j: float, sigma: float, sigma_w: float):
    """``U_{l,j}[g_sigma](r)`` for one normalised Gaussian at the origin (appendix A.4, corrected).

    ``U = (K_l / (k^l s_j^3)) sqrt((2l+1)/(4 pi)) exp(-r^2 / (2 s_j^2)) (r/s_j)^l`` with
    ``s_j = sqrt((2^j sigma_w)^2 + sigma^2)``, ``k = s_j / (2^j sigma_w)``; ``r`` a distance (array).
    """
    s, k = _s_and_k(j, sigma, sigma_w)
    amp = K_l(l) / (k ** l * s ** 3) * math.sqrt((2 * l + 1) / (4 * math.pi))
    x = np.asarray(r, float) / s
    return amp * np.exp(-0.5 * x * x) * x ** l


def analytic_first_order_integral(l: int, j: float, sigma: float, sigma_w: float, q: float) -> float:
    """``int U_{l,j}[g_sigma]^q d^3r`` for one normalised Gaussian; ``= k^-l`` for ``q = 1``."""
    s, k = _s_and_k(j, sigma, sigma_w)
    amp = K_l(l) / (k ** l * s ** 3) * math.sqrt((2 * l + 1) / (4 * math.pi))
    a = l * q + 2.0  # int_0^inf t^a exp(-q t^2/2) dt = Gamma((a+1)/2) / (2 (q/2)^((a+1)/2))
    radial = math.exp(gammaln((a + 1) / 2)) / (2 * (q / 2) ** ((a + 1) / 2))
    return amp ** q * 4 * math.pi * s ** 3 * radial


def analytic_order0_integral(sigma: float, q: float, weight: float = 1.0) -> float:
    """``int (c g_sigma)^q d^3r = c^q (2 pi sigma^2)^{3(1-q)/2} q^{-3/2}`` for one Gaussian of weight ``c``."""
    return weight ** q * (2 * math.pi * sigma ** 2) ** (1.5 * (1 - q)) * q ** -1.5
