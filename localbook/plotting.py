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

__all__ = ["use_book_style", "learning_curves", "Table", "text_table", "thesis_vs_book"]

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
