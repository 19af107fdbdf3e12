"""Drawings of stroke-3 sequences with matplotlib (the chapter's figures)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from localbook.data.strokes import denormalise, stroke3_to_strokes


# ----------------------------------------------------------------------------------------------- drawing
def draw_stroke3(ax, s3: np.ndarray, origin: Sequence[float] = (0.0, 0.0), color="k", lw: float = 2.0,
                 box: float | None = None, **kwargs) -> np.ndarray:
    """Draw a stroke-3 drawing on a matplotlib axis (one line per stroke, y pointing down as in SVG).

    Returns the absolute position (2,) of the last point, so that a continuation can be drawn from it.
    ``box``: when given, the axis shows [0, box] x [0, box] with the y axis inverted and no ticks.
    """
    strokes = stroke3_to_strokes(s3, origin) if len(s3) else []
    for st in strokes:
        ax.plot(st[:, 0], st[:, 1], color=color, lw=lw, solid_capstyle="round", **kwargs)
        if len(st) == 1:
            ax.plot(st[:, 0], st[:, 1], "o", color=color, ms=lw)
    if box is not None:
        ax.set_xlim(0, box)
        ax.set_ylim(box, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return strokes[-1][-1] if strokes else np.asarray(origin, dtype=np.float64)


def codepoint_title(name: str) -> str:
    """A panel title for a KanjiVG file name (its hexadecimal code point, e.g. ``"04e00"`` -> ``"U+4E00"``)."""
    return f"U+{name.upper().lstrip('0')}"


def plot_drawings(drawings: Sequence[Sequence[tuple[np.ndarray, str]]], titles: Sequence[str] | None = None,
                  ncols: int = 6, panel: float = 1.6, box: float = 109.0, scale: float = 1.0, lw: float = 1.8):
    """A grid of drawings; each drawing is a list of (stroke-3 part, colour) drawn one after the other (each
    part starts at the last point of the previous one). Offsets are multiplied by ``scale`` (normalised ->
    KanjiVG units) and shown in a ``box`` x ``box`` frame. Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(drawings)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, parts in enumerate(drawings):
        ax = axes.ravel()[i]
        ax.axis("on")
        origin = np.zeros(2)
        for s3, color in parts:
            s3 = np.asarray(s3, dtype=np.float32)
            if len(s3):
                origin = draw_stroke3(ax, denormalise(s3, scale), origin, color=color, lw=lw)
        ax.set_xlim(0, box)
        ax.set_ylim(box, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


