"""Figure helpers of the style-transfer chapter: rows of images and the recursion curves."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from localbook.art.images import to_array

__all__ = ["image_grid", "recursion_curves"]


def image_grid(rows, titles=None, size: float = 1.8, suptitle: str | None = None):
    """A figure of images: ``rows`` is a list of rows, each a list of (1, 3, H, W) tensors (None: blank)."""
    rows = [list(r) for r in rows]
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows + 0.3), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(row) and row[j] is not None:
                ax.imshow(to_array(row[j]))
            if titles is not None and j < len(titles[i]) and titles[i][j]:
                ax.set_title(titles[i][j], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def recursion_curves(metrics: dict[str, dict[str, np.ndarray]]):
    """Three panels (distance to x_0, to the previous iterate, saturated fraction) per method."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    for name, m in metrics.items():
        t = np.arange(len(m["to_start"]))
        axes[0].plot(t, m["to_start"], marker="o", ms=3, label=name)
        axes[1].plot(t[1:], m["to_previous"][1:], marker="o", ms=3, label=name)
        axes[2].plot(t, m["saturated"], marker="o", ms=3, label=name)
    for ax, title in zip(axes, ["RMS distance to $x_0$", "RMS distance to $x_{t-1}$", "saturated fraction"]):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration $t$")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
