"""Result tables that print as aligned text and display as HTML (a base-layer module: no localbook imports).

A :class:`Table` is a ``str`` (the aligned plain text: what ``print`` shows and what nbval compares) that also
renders as an HTML table when it is displayed (the last expression of a cell, or ``display(table)``), so that a
wide table wraps in the rendered book instead of scrolling sideways. :mod:`localbook.plotting` re-exports them.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["Table", "text_table", "thesis_vs_book"]


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
