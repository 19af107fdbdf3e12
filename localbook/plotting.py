"""Shared figure helpers: one look for every chapter, and the recurring log-log learning-curve plot.

The result tables (:class:`~localbook.tables.Table`, :func:`text_table`, :func:`thesis_vs_book`) live in the
base-layer module :mod:`localbook.tables`; they are re-exported here, so ``from localbook.plotting import
text_table`` keeps working.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from localbook.tables import Table, text_table, thesis_vs_book

__all__ = ["use_book_style", "learning_curves", "loglog_spectra", "parity_plot", "Table", "text_table",
           "thesis_vs_book"]

BOOK_STYLE = {
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.figsize": (6.4, 4.0),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (modest dpi keeps the committed notebooks small)."""
    plt.rcParams.update(BOOK_STYLE)


def learning_curves(ax, n: Sequence[float], curves: Mapping[str, Sequence[float]],
                    reference_slopes: Mapping[str, float] | None = None, fit_from: int = 0,
                    ylabel: str = "relative RMSE") -> dict[str, float]:
    """Plot error versus training size on log-log axes, with a least-squares power law per curve.

    Each curve's fitted slope (over the points from index ``fit_from`` on) is drawn dashed and written in the
    legend next to ``reference_slopes[label]`` when given. Returns the fitted slopes.
    """
    from localbook.local_methods import fit_power_law

    n = np.asarray(n, dtype=float)
    slopes = {}
    for color, (label, err) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4, curves.items()):
        err = np.asarray(err, dtype=float)
        slope, intercept = fit_power_law(n[fit_from:], err[fit_from:])
        slopes[label] = slope
        text = f"{label}: fit {slope:+.3f}"
        if reference_slopes and label in reference_slopes:
            text += f" (theory {reference_slopes[label]:+.3f})"
        ax.loglog(n, err, "o-", color=color, ms=4, label=text)
        ax.loglog(n[fit_from:], np.exp(intercept) * n[fit_from:] ** slope, "--", color=color, lw=1, alpha=0.7)
    ax.set_xlabel("number of training samples n")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return slopes


def parity_plot(ax, y_true, y_pred, groups=None, unit: str = "", title: str = "", quantity: str = "") -> dict:
    """Predicted against true values on ``ax``, one colour per value of ``groups``, the diagonal, and the
    errors in the title; returns :func:`localbook.regression.metrics.errors` (``mae``, ``rmse``, ``max``, ``r2``).

    ``unit`` labels the axes and the errors (e.g. ``"kcal/mol"``, ``"eV/atom"``, ``"k_B"``); ``quantity`` names
    what is predicted (axis labels "true <quantity>" and "predicted <quantity>").
    """
    from localbook.regression.metrics import errors

    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be 1-d of the same, non-zero length, got shapes {y_true.shape} "
                         f"and {y_pred.shape}")
    groups = np.full(len(y_true), "", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    if groups.shape != y_true.shape:
        raise ValueError(f"groups has {groups.shape[0] if groups.ndim else 0} labels for {len(y_true)} points; "
                         "give one label per point, or None")
    labels = sorted(set(groups.tolist()), key=str)
    for g in labels:
        m = groups == g
        ax.scatter(y_true[m], y_pred[m], s=10, alpha=0.75, label=str(g) if len(labels) > 1 else None)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    err = errors(y_true, y_pred)
    u = f" {unit}" if unit else ""
    ax.set_title(f"{title + chr(10) if title else ''}MAE {err['mae']:.3g}, RMSE {err['rmse']:.3g}{u}")
    what = f" {quantity}" if quantity else ""
    ax.set_xlabel(f"true{what}" + (f" ({unit})" if unit else ""))
    ax.set_ylabel(f"predicted{what}" + (f" ({unit})" if unit else ""))
    if len(labels) > 1:
        ax.legend(fontsize=7, markerscale=1.5)
    return err


def loglog_spectra(ax, spectra: Mapping[int, tuple[Sequence[float], Sequence[float]]], title: str = "",
                   fit_range: tuple[float, float] | None = None, floor: float = 1e-18,
                   ylim: tuple[float, float] = (1e-16, 2)) -> None:
    """Fourier moduli against frequency on log-log axes, one curve per degree ``l``: odd ``l`` solid, even dashed.

    ``spectra[l] = (w, modulus)`` (``w[0] = 0`` is left out; moduli below ``floor`` are drawn at ``floor``);
    ``fit_range``, a frequency interval shaded grey (e.g. where slopes are fitted). Frequencies in units of
    1/sigma, moduli relative to their value at zero frequency (chapter 01's spectra).
    """
    for l, (w, modulus) in spectra.items():
        w, modulus = np.asarray(w, float), np.asarray(modulus, float)
        ax.loglog(w[1:], np.maximum(modulus[1:], floor), label=f"l={l}", ls="-" if l % 2 else "--")
    if fit_range is not None:
        ax.axvspan(*fit_range, color="0.9")
    ax.set(title=title, xlabel="|ω| σ", ylabel="modulus / value at ω = 0", ylim=ylim)
