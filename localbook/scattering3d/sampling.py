"""Sampling: the thesis' aliasing and overlap conditions, and the grids that meet them (thesis section 2.2.1, eq. 2.3).

Formulas (:func:`gaussian_width_for_aliasing` and its inverse, :func:`min_distance_for_overlap` and its inverse),
the per-structure report (:func:`check_conditions`), FFT-friendly grid sizes (:func:`smooth_size`,
:func:`grid_shape_for_lengths`) and the coarsest grid that holds a band-limited signal (:func:`band_grid_shape`,
used by the multi-resolution mode). Lengths in one unit (Å for atoms).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

__all__ = ["gaussian_width_for_aliasing", "aliasing_precision", "min_distance_for_overlap", "overlap_precision",
           "smooth_size", "fast_size", "grid_shape_for_lengths", "band_grid_shape", "ConditionReport",
           "check_conditions", "SamplingConditionWarning"]


# --------------------------------------------------------------------------------------------- formulas
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


def fast_size(n: float) -> int:
    """Smallest ``2^a`` or ``3 * 2^a`` that is ``>= n``: the sizes whose FFTs cost least per point (measured with
    MKL on this project's CPU: 32^3 costs 4 ns per point, 30^3 12 ns, 48^3 6 ns, 60^3 6 ns, 64^3 6 ns)."""
    n = max(int(math.ceil(n - 1e-9)), 2)
    p = 1 << (n - 1).bit_length()
    return min(p, 3 * (p // 4)) if 3 * (p // 4) >= n else p


def band_grid_shape(shape, lengths, w_max: float, oversampling: float = 1.0) -> tuple[int, int, int]:
    """The coarsest grid (fast FFT sizes, at most ``shape``) of the box ``lengths`` that holds a signal band-limited
    to ``w_max`` (radians per length unit) and its modulus, ``oversampling`` times more finely than the minimum.

    A signal band-limited to frequency indices ``|k| <= K`` (``K = floor(w_max d / 2 pi)``) is exactly represented
    on ``2K + 1`` points; its square has indices up to ``2K``, so the grid sum of the square (Parseval, ``q = 2``)
    is exact on any grid of more than ``2K`` points. Other powers of the modulus are not band-limited: the modulus
    has kinks where the signal vanishes, which odd degrees ``l`` always have (thesis section 2.2, chapter 01), and
    the square root of ``q = 1/2`` sharpens them, so they need finer grids. The size returned is the smallest
    :func:`fast_size` ``>= max(2K + 2, oversampling (2K + 1))``, or the input size when that is not smaller.
    """
    out = []
    for n, d in zip(shape, lengths, strict=True):
        k = int(math.floor(w_max * float(d) / (2 * math.pi) + 1e-9))
        out.append(min(int(n), fast_size(max(2 * k + 2, math.ceil(oversampling * (2 * k + 1) - 1e-9)))))
    return tuple(out)


# ------------------------------------------------------------------------------------- one structure
class SamplingConditionWarning(UserWarning):
    """A structure violates the aliasing or overlap condition of thesis section 2.1.1 / 2.2.1."""


@dataclass(frozen=True)
class ConditionReport:
    """The sampling conditions of one structure (thesis eq. 2.3 and section 2.2.1), lengths in Å.

    ``eps_a``: aliasing precision reached, ``N_a exp(-pi^2 (sigma/step)^2 / 2)``; ``eps_o``: overlap reached
    by the closest pair, ``exp(-Delta_min^2 / (8 sigma^2))``; ``sigma_needed`` the width (Å) that reaches
    ``eps_a_target`` on this grid step; ``delta_needed`` the minimal distance for ``eps_o_target``;
    ``rescale`` the factor on positions that would meet the overlap condition (``>= 1`` when it fails).
    """

    n_atoms: int
    min_distance: float
    sigma: float
    step: float
    eps_a: float
    eps_o: float
    eps_a_target: float | None
    eps_o_target: float | None
    sigma_needed: float | None
    delta_needed: float | None

    @property
    def aliasing_ok(self) -> bool:
        return self.eps_a_target is None or self.eps_a <= self.eps_a_target * (1 + 1e-9)

    @property
    def overlap_ok(self) -> bool:
        return self.eps_o_target is None or self.eps_o <= self.eps_o_target * (1 + 1e-9)

    @property
    def rescale(self) -> float:
        if self.delta_needed is None or not np.isfinite(self.min_distance):
            return 1.0
        return self.delta_needed / self.min_distance

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(aliasing_ok=self.aliasing_ok, overlap_ok=self.overlap_ok, rescale=self.rescale)
        return d


def _min_distance(atoms) -> float:
    if len(atoms) < 2:
        return math.inf
    d = atoms.get_all_distances(mic=bool(np.all(atoms.pbc)))
    return float(d[np.triu_indices(len(atoms), 1)].min())


def check_conditions(atoms, sigma: float, step: float, eps_a: float | None = None,
                     eps_o: float | None = None) -> ConditionReport:
    """Aliasing and overlap conditions of one ``ase.Atoms`` for a Gaussian width ``sigma`` (Å) sampled
    with grid step ``step`` (Å); targets ``eps_a``/``eps_o`` optional. See :class:`ConditionReport`."""
    n = len(atoms)
    dmin = _min_distance(atoms)
    sigma_needed = None if eps_a is None else gaussian_width_for_aliasing(n, eps_a) * step
    delta_needed = None if eps_o is None else min_distance_for_overlap(sigma, eps_o)
    return ConditionReport(n, dmin, float(sigma), float(step), aliasing_precision(n, sigma / step),
                           overlap_precision(sigma, dmin) if np.isfinite(dmin) else 0.0,
                           eps_a, eps_o, sigma_needed, delta_needed)
