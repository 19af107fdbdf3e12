"""Shared figure helpers: one look for every chapter, the recurring log-log learning-curve plot, and tables.

Tables are :class:`Table` objects: a ``str`` (the aligned plain text, what ``print`` shows and what nbval
compares) that also renders as an HTML table when it is displayed (the last expression of a cell, or
``display(table)``), so that a wide table wraps in the rendered book instead of scrolling sideways.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

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


class Table(str):
    """A results table that prints as aligned text and displays as HTML.

    The string value is the plain-text table (columns padded with spaces, a dashed rule under the header):
    ``print(table)`` shows it, nbval compares it (``text/plain``), and ``str`` methods work on it. Displayed by
    IPython (last expression of a cell, ``display(table)``) it also offers ``text/html``: a ``<table>`` with
    the header in ``<thead>``, cells escaped, an optional caption, class ``localbook-table`` (styled in the book
    by ``book/_static/localbook.css``; JupyterLab styles output tables itself). Build one with :func:`text_table`.
    """

    rows: tuple[tuple[str, ...], ...]
    header: tuple[str, ...]
    caption: str | None

    def __new__(cls, rows: Sequence[Sequence], header: Sequence[str], caption: str | None = None) -> Table:
        header = tuple(str(h) for h in header)
        rows = tuple(tuple(str(c) for c in r) for r in rows)
        bad = [i for i, r in enumerate(rows) if len(r) != len(header)]
        if bad:
            raise ValueError(f"every row needs {len(header)} cells to match the header {header}; row {bad[0]} has "
                             f"{len(rows[bad[0]])}: {rows[bad[0]]}")
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
        lines = [header, tuple("-" * w for w in widths), *rows]
        text = "\n".join("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines)
        self = super().__new__(cls, text)
        self.rows, self.header, self.caption = rows, header, caption
        return self

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython's text/plain: the table, not its repr
        printer.text(str(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        return (f'<table class="localbook-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")


def text_table(rows: Sequence[Sequence], header: Sequence[str], caption: str | None = None) -> Table:
    """A :class:`Table` with aligned columns (deterministic, so that nbval can check it).

    ``print(text_table(...))`` shows the text; leave it as the last expression of a cell (or ``display`` it)
    and the book renders an HTML table, while nbval still compares the text.
    """
    return Table(rows, header, caption)


def thesis_vs_book(rows: Sequence[Sequence], caption: str | None = None) -> Table:
    """The "thesis vs this book" table: rows of (quantity, thesis value, this book's value, scale used here)."""
    return text_table(rows, header=("quantity", "thesis", "this book", "scale here"), caption=caption)
