"""Shared figure helpers: one look for every chapter, and the recurring log-log learning-curve plot."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["use_book_style", "learning_curves", "text_table", "thesis_vs_book"]

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


def text_table(rows: Sequence[Sequence], header: Sequence[str]) -> str:
    """A plain-text table with aligned columns (deterministic, so that nbval can check it)."""
    rows = [tuple(str(c) for c in r) for r in rows]
    if any(len(r) != len(header) for r in rows):
        raise ValueError(f"every row needs {len(header)} cells to match the header {tuple(header)}")
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line("-" * w for w in widths), *(line(r) for r in rows)])


def thesis_vs_book(rows: Sequence[Sequence]) -> str:
    """The "thesis vs this book" table: rows of (quantity, thesis value, this book's value, scale used here)."""
    return text_table(rows, header=("quantity", "thesis", "this book", "scale here"))
