"""The three functions of a tabulated EAM potential as torch functions: interpolated, or recovered in closed form.

A LAMMPS ``eam.fs`` file samples the embedding function ``F(rho)``, the density ``f(r)`` and ``r phi(r)`` on
grids of 10,000 points (``dr = 5.3e-4`` A for the iron files of this book), each value written with 10
significant digits. Two ways to turn the tables back into functions:

* ``"table"``: the cubic spline through every tabulated point (as ASE's ``EAM`` calculator does; LAMMPS uses a
  local cubic Hermite interpolation of the same points). Energies and forces are exact to the table's
  precision, but a second derivative of an interpolant through rounded samples ``h`` apart carries the rounding
  error times ``~6 / h^2``: with ``h = 5.3e-4`` A and values rounded at ``~1e-10`` eV, ``phi''`` and ``f''`` jump by
  a few ``1e-3`` eV/A^2 from one grid interval to the next. The Hessian, and every harmonic entropy, inherits
  this noise (see :func:`curvature_noise` and chapter 04's audit of the strain dependence).
* ``"analytic"``: the closed forms that the tables sample, recovered by least squares and accepted only if they
  reproduce every tabulated value to the table's rounding (residual <= ``tol`` eV). The Mendelev / Ackland iron
  potentials (``Fe_mm.eam.fs``, ``FeP_mm.eam.fs``) are, by construction (Mendelev et al. 2003; Ackland et al.
  2004), cubic splines with knots on a 0.1 A grid for ``f`` and for ``phi`` beyond a join radius ``r_join``
  (2.0-2.05 A), ``exp`` of a cubic polynomial for ``phi`` on ``[1 A, r_join]`` (a ZBL screened Coulomb
  repulsion below 1 A, which relaxed structures never reach, stays interpolated from the table), and
  ``F(rho) = -sqrt(rho) + a_2 rho^2 [+ a_4 rho^4]``. Their curvatures are smooth between the authors' knots.

Why hand-written: scipy fits the splines (``make_lsq_spline``, ``InterpolatedUnivariateSpline``), but neither
ASE nor LAMMPS evaluates a Hessian of an EAM potential in torch, nor recovers the closed forms of a table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["PiecewisePolynomial", "ExpPolynomial", "PowerSeries", "Joined", "EAMFunctions", "interpolate_tables",
           "recover_analytic", "curvature_noise", "third_derivative_jumps", "INTERPOLATIONS"]

INTERPOLATIONS = ("analytic", "table")


class PiecewisePolynomial:
    """A cubic spline as a piecewise polynomial evaluated in torch (differentiable to any order).

    ``breaks`` (m+1,) and ``coefs`` (4, m) as in :class:`scipy.interpolate.PPoly`; outside the breaks the
    end polynomials extrapolate (as FITPACK's default ``ext=0``).
    """

    def __init__(self, ppoly, device="cpu"):
        # FITPACK pads the knot vector with repeated end knots: keep the intervals of non-zero length
        keep = np.diff(ppoly.x) > 0
        self.breaks = torch.as_tensor(ppoly.x[:-1][keep], dtype=torch.float64, device=device)
        self.coefs = torch.as_tensor(ppoly.c[:, keep], dtype=torch.float64, device=device)

    @classmethod
    def interpolating(cls, x, y, device="cpu") -> PiecewisePolynomial:
        """The cubic spline through every point ``(x, y)`` (FITPACK, ``k = 3``, as ASE's ``EAM``)."""
        from scipy.interpolate import InterpolatedUnivariateSpline, PPoly
        return cls(PPoly.from_spline(InterpolatedUnivariateSpline(x, y, k=3)._eval_args), device)

    @classmethod
    def least_squares(cls, x, y, interior_knots, device="cpu") -> PiecewisePolynomial:
        """The least-squares cubic spline on ``[x[0], x[-1]]`` with the given interior knots."""
        from scipy.interpolate import PPoly, make_lsq_spline
        t = np.r_[[x[0]] * 4, interior_knots, [x[-1]] * 4]
        return cls(PPoly.from_spline(make_lsq_spline(x, y, t, k=3)), device)

    def __call__(self, x: torch.Tensor, nu: int = 0) -> torch.Tensor:
        """Value (``nu=0``) or derivative of order ``nu`` (1, 2) at ``x``, same shape as ``x``."""
        idx = torch.searchsorted(self.breaks, x.detach().contiguous(), right=True) - 1
        idx = idx.clamp(0, self.breaks.numel() - 1)
        t = x - self.breaks[idx]
        c = self.coefs[:, idx]
        if nu == 0:
            return ((c[0] * t + c[1]) * t + c[2]) * t + c[3]
        if nu == 1:
            return (3 * c[0] * t + 2 * c[1]) * t + c[2]
        if nu == 2:
            return 6 * c[0] * t + 2 * c[1]
        raise ValueError(f"derivative order nu={nu} not supported (0, 1 or 2)")


class ExpPolynomial:
    """``exp(b_0 + b_1 x + ... + b_k x^k)`` and its first two derivatives, in torch."""

    def __init__(self, coefficients, device="cpu"):
        self.b = torch.as_tensor(np.asarray(coefficients, float), dtype=torch.float64, device=device)

    def __call__(self, x: torch.Tensor, nu: int = 0) -> torch.Tensor:
        k = torch.arange(self.b.numel(), device=self.b.device, dtype=torch.float64)
        p = (self.b * x[..., None] ** k).sum(-1)
        e = torch.exp(p)
        if nu == 0:
            return e
        p1 = (self.b[1:] * k[1:] * x[..., None] ** (k[1:] - 1)).sum(-1)
        if nu == 1:
            return p1 * e
        if nu == 2:
            p2 = (self.b[2:] * k[2:] * (k[2:] - 1) * x[..., None] ** (k[2:] - 2)).sum(-1)
            return (p2 + p1 ** 2) * e
        raise ValueError(f"derivative order nu={nu} not supported (0, 1 or 2)")


class PowerSeries:
    """``sum_k c_k x^(p_k)`` (real powers ``p_k``, ``x > 0``) and its first two derivatives, in torch."""

    def __init__(self, powers, coefficients, device="cpu"):
        self.p = torch.as_tensor(np.asarray(powers, float), dtype=torch.float64, device=device)
        self.c = torch.as_tensor(np.asarray(coefficients, float), dtype=torch.float64, device=device)

    def __call__(self, x: torch.Tensor, nu: int = 0) -> torch.Tensor:
        x = x[..., None].clamp(min=1e-12)      # sqrt'(0) is infinite: an atom with no neighbour is not a use case
        if nu == 0:
            return (self.c * x ** self.p).sum(-1)
        if nu == 1:
            return (self.c * self.p * x ** (self.p - 1)).sum(-1)
        if nu == 2:
            return (self.c * self.p * (self.p - 1) * x ** (self.p - 2)).sum(-1)
        raise ValueError(f"derivative order nu={nu} not supported (0, 1 or 2)")


class Joined:
    """Functions joined at break points: ``pieces = [(x_0, g_0), (x_1, g_1), ...]``, ``g_k`` on ``[x_k, x_{k+1})``.

    Each piece sees its argument clamped to its own interval, so that a piece never produces a NaN or an
    overflow (nor a NaN gradient through ``torch.where``) outside the interval where it is used.
    """

    def __init__(self, pieces):
        self.starts = [float(s) for s, _ in pieces]
        self.functions = [g for _, g in pieces]

    def __call__(self, x: torch.Tensor, nu: int = 0) -> torch.Tensor:
        out = None
        bounds = self.starts[1:] + [np.inf]
        for lo, hi, g in zip(self.starts, bounds, self.functions):
            xs = x.clamp(min=lo if out is not None else -np.inf, max=hi)
            val = g(xs, nu)
            out = val if out is None else torch.where(x >= lo, val, out)
        return out


def third_derivative_jumps(spline: PiecewisePolynomial, min_jump: float = 1e-3) -> np.ndarray:
    """The knots of a cubic spline ``g`` where its third derivative jumps by more than ``min_jump``: ``(K, 2)``
    rows ``(knot, jump)`` (A, units of ``g`` per A^3). Its second derivative has a kink there."""
    d3 = 6 * spline.coefs[0].cpu().numpy()
    jumps = np.diff(d3)
    keep = np.abs(jumps) > min_jump
    return np.column_stack([spline.breaks.cpu().numpy()[1:][keep], jumps[keep]])


@dataclass
class EAMFunctions:
    """``F(rho)`` (eV), ``f(r)`` and ``phi(r)`` (eV) of one species as torch callables ``g(x, nu)``.

    ``interpolation``: ``"table"`` or ``"analytic"``; ``residuals``: max |function - table| (eV or density units)
    of each recovered closed form; ``r_join``: where ``phi`` switches from the exponential to the spline (A).
    """

    F: object
    f: object
    phi: object
    interpolation: str
    residuals: dict = field(default_factory=dict)
    r_join: float | None = None

    def knots(self, min_jump: float = 1e-3) -> dict:
        """``{"phi": (K, 2), "f": (K, 2)}``: the knots of the recovered splines and the jumps of their third
        derivatives (:func:`third_derivative_jumps`); ``"analytic"`` functions only."""
        if self.interpolation != "analytic":
            raise ValueError("knots are those of the recovered closed forms: load with interpolation='analytic'")
        return {"phi": third_derivative_jumps(self.phi.functions[-1], min_jump),
                "f": third_derivative_jumps(self.f, min_jump)}


def _tables(ref, k: int):
    dens = ref.density_data[k, k] if ref.form == "fs" else ref.density_data[k]
    return (np.asarray(ref.rho, float), np.asarray(ref.embedded_data[k], float), np.asarray(ref.r, float),
            np.asarray(dens, float), np.asarray(ref.rphi_data[k, k], float))


def interpolate_tables(ref, k: int, device="cpu") -> EAMFunctions:
    """The cubic splines through every tabulated point of species ``k`` of an ASE ``EAM`` reader ``ref``."""
    rho, F, r, f, rphi = _tables(ref, k)
    interp = PiecewisePolynomial.interpolating
    return EAMFunctions(interp(rho, F, device), interp(r, f, device), interp(r[1:], rphi[1:] / r[1:], device),
                        "table")


def _grid_knots(lo: float, hi: float, step: float) -> np.ndarray:
    knots = np.round(np.arange(np.ceil(lo / step - 1e-9) * step, hi, step), 9)
    return knots[(knots > lo + 1e-9) & (knots < hi - 1e-9)]


def recover_analytic(ref, k: int, device="cpu", knot_step: float = 0.1, tol: float = 1e-8,
                     r_inner: float = 1.0) -> EAMFunctions:
    """Closed forms of the tables of species ``k`` (see the module docstring), each checked against every
    tabulated value: a residual above ``tol`` times ``max(1, |values|)`` raises ``ValueError``.

    ``knot_step`` (A): the grid of the spline knots of ``f`` and ``phi``; ``r_inner`` (A): below it, ``phi``
    stays interpolated from the table (the ZBL core).
    """
    rho, F, r, f, rphi = _tables(ref, k)
    res = {}

    def check(name, fitted, values):
        err = float(np.abs(fitted - values).max())
        res[name] = err
        if err > tol * max(1.0, float(np.abs(values).max())):
            raise ValueError(f"the {name} table of {getattr(ref, 'filename', 'this file')} is not the closed form "
                             f"expected (residual {err:.2e}); use interpolation='table' for this potential")

    # embedding function: -sqrt(rho) + a2 rho^2 (+ a4 rho^4), the first basis that reproduces the table
    for powers in ((0.5, 2.0), (0.5, 2.0, 4.0)):
        basis = rho[:, None] ** np.asarray(powers)
        coef, *_ = np.linalg.lstsq(basis, F, rcond=None)
        if np.abs(basis @ coef - F).max() <= tol * max(1.0, np.abs(F).max()):
            break
    check("F", basis @ coef, F)
    F_fn = PowerSeries(powers, coef, device)
    # density: a cubic spline with knots on the grid
    f_fn = PiecewisePolynomial.least_squares(r, f, _grid_knots(r[0], r[-1], knot_step), device)
    check("f", f_fn(torch.as_tensor(r, device=device)).cpu().numpy(), f)
    # pair function: spline beyond the smallest join radius that reproduces the table, exp(cubic) inside
    rr, phi = r[1:], rphi[1:] / r[1:]
    for r_join in np.round(np.arange(1.5, 2.6, 0.05), 9):
        m = rr >= r_join
        spline = PiecewisePolynomial.least_squares(rr[m], phi[m], _grid_knots(rr[m][0], rr[m][-1], knot_step),
                                                   device)
        fit = spline(torch.as_tensor(rr[m], device=device)).cpu().numpy()
        if np.abs(fit - phi[m]).max() <= tol * max(1.0, np.abs(phi[m]).max()):
            break
    check("phi spline", fit, phi[m])
    inner = (rr >= r_inner) & (rr < r_join)
    b = np.polynomial.polynomial.polyfit(rr[inner], np.log(phi[inner]), 3)
    expo = ExpPolynomial(b, device)
    rel = expo(torch.as_tensor(rr[inner], device=device)).cpu().numpy() / phi[inner] - 1
    res["phi exp (relative)"] = float(np.abs(rel).max())
    if res["phi exp (relative)"] > tol:
        raise ValueError(f"phi on [{r_inner}, {r_join}] A is not exp(cubic) (relative residual "
                         f"{res['phi exp (relative)']:.1e}); use interpolation='table' for this potential")
    core = PiecewisePolynomial.interpolating(rr[rr < r_inner + 0.1], phi[rr < r_inner + 0.1], device)
    phi_fn = Joined([(-np.inf, core), (r_inner, expo), (float(rr[m][0]), spline)])
    return EAMFunctions(F_fn, f_fn, phi_fn, "analytic", res, float(rr[m][0]))


def curvature_noise(function, lo: float, hi: float, spacing: float) -> float:
    """RMS of the second differences of ``g''`` sampled at the midpoints of a table grid (units of ``g''``).

    Inside one piece of a closed form ``g''`` is linear (a cubic spline) or smooth, and the second differences
    vanish to rounding; an interpolant through rounded table values has a ``g''`` that jumps at every table
    point. ``function``: a callable ``g(x, nu)``; ``[lo, hi]`` (A): a range inside one piece of the closed form
    (between two knots, e.g. ``[2.505, 2.595]`` for the iron potentials); ``spacing``: the table's grid step (A).
    """
    if not hi - lo > 3 * spacing:
        raise ValueError(f"[{lo}, {hi}] is narrower than three table intervals of {spacing} A: widen it")
    start = (np.floor(lo / spacing) + 1.5) * spacing
    x = torch.arange(start, hi, spacing, dtype=torch.float64)
    d2 = function(x, 2).cpu().numpy()
    return float(np.sqrt(np.mean((d2[2:] - 2 * d2[1:-1] + d2[:-2]) ** 2)))
