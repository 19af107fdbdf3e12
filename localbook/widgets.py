"""ipywidgets builders. The callbacks they wire are plain functions, tested without a browser.

Widgets are only built when a chapter's ``interactive`` parameter is True; ``localbook.params.check`` turns it
off in headless runs (``LOCALBOOK_HEADLESS=1``), where a widget can stall the kernel.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["interactive_figure", "log_int_slider"]


def log_int_slider(description: str, value: int, lo: int, hi: int):
    """An integer slider whose steps are evenly spaced on a log scale (for sample sizes)."""
    import ipywidgets as w

    slider = w.SelectionSlider(options=sorted({int(round(lo * (hi / lo) ** (i / 40))) for i in range(41)} | {value}),
                               value=value, description=description, continuous_update=False)
    return slider


def interactive_figure(plot: Callable[..., Any], **controls: Any):
    """A box of ``controls`` above an output area where ``plot(**values)`` redraws on every change.

    ``plot`` is a plain function that draws with matplotlib (and may return a summary string, printed below
    the figure); ``controls`` maps its keyword arguments to ipywidgets.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    out = w.Output()

    def redraw(_=None):
        values = {name: c.value for name, c in controls.items()}
        with out:
            out.clear_output(wait=True)
            summary = plot(**values)
            plt.show()
            if summary is not None:
                print(summary)

    for c in controls.values():
        c.observe(redraw, names="value")
    box = w.VBox([w.HBox(list(controls.values())), out])
    redraw()
    display(box)
    return box
