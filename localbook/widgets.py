"""ipywidgets builders: one line in a chapter gives an explorer; the callbacks are plain, tested functions.

Every builder returns an ipywidgets box (display it as the last expression of a cell). What it draws is a
plain function of the control values that draws with matplotlib and returns a one-line summary; the tests
call these functions directly, and ``tests/test_browser.py`` moves the controls in a real browser.

Builders for any chapter (the convention for chapters 02-06):

* :func:`learning_curve_explorer` ``(train_sizes, errors, unit=...)`` -- error against training size on
  log-log axes, by model (a multi-select) up to a chosen training size (a slider), with the fitted slope of
  each model over the shown points;
* :func:`parity_explorer` ``(y_true, y_pred, groups=None, unit=...)`` -- predicted against true values for
  one model (a dropdown) and one group (a dropdown: e.g. a density, a defect kind), with the group's errors;
* :func:`interactive_figure` ``(plot, **controls)`` -- any plain ``plot(**values)`` function behind controls.

Chapter explorers: :func:`curse_explorer` (chapter 00), :func:`aliasing_explorer` (chapter 01). Chapters 07
and 08 have their own front ends in :mod:`localbook.art.portrait` and :mod:`localbook.art.canvas`.

Widgets are only built when a chapter's ``interactive`` parameter is True; ``localbook.params.check`` turns it
off in headless runs (``LOCALBOOK_HEADLESS=1``), where a widget can stall the kernel. For figures that stay
interactive in the rendered book without a kernel, see :mod:`localbook.webfigures`.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["interactive_figure", "log_int_slider", "curse_explorer", "aliasing_explorer", "plot_two_gaussians",
           "learning_curve_explorer", "plot_learning_curves", "parity_explorer", "plot_parity"]


def log_int_slider(description: str, value: int, lo: int, hi: int):
    """An integer slider whose steps are evenly spaced on a log scale (for sample sizes)."""
    import ipywidgets as w

    if not 1 <= lo <= value <= hi:
        raise ValueError(f"log_int_slider needs 1 <= lo <= value <= hi, got lo={lo}, value={value}, hi={hi}")
    options = sorted({int(round(lo * (hi / lo) ** (i / 40))) for i in range(41)} | {value})
    return w.SelectionSlider(options=options, value=value, description=description, continuous_update=False)


def interactive_figure(plot: Callable[..., Any], show: bool = True, **controls: Any):
    """A box of ``controls`` above an output area where ``plot(**values)`` redraws on every change.

    ``plot`` is a plain function that draws with matplotlib (and may return a summary string, printed below
    the figure); ``controls`` maps its keyword arguments to ipywidgets. Errors of ``plot`` (e.g. a
    combination of values it refuses) are printed in the output area instead of breaking the widget.
    ``show``: display the box at once (the builders below pass False and return it for the chapter to display).
    Returns the box.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    out = w.Output(layout=w.Layout(min_height="300px"))

    def redraw(_=None):
        values = {name: c.value for name, c in controls.items()}
        with out:
            out.clear_output(wait=True)
            try:
                summary = plot(**values)
            except ValueError as exc:
                print(f"cannot draw {values}: {exc}")
                plt.close("all")
                return
            plt.show()
            if summary is not None:
                print(summary)

    for c in controls.values():
        c.observe(redraw, names="value")
    box = w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")), out])
    box.add_class("localbook-explorer")
    redraw()
    if show:
        from IPython.display import display

        display(box)
    return box


# ------------------------------------------------------------------------------------ chapter explorers
def curse_explorer(seed: int = 0, device=None):
    """Chapter 00: distances to the nearest and to all training points for a chosen ``D`` and ``n``.

    Callback: :func:`localbook.local_methods.plot_curse_demo`.
    """
    import functools

    import ipywidgets as w

    from localbook.local_methods import plot_curse_demo

    return interactive_figure(functools.partial(plot_curse_demo, seed=seed, device=device), show=False,
                              dim=w.IntSlider(value=4, min=1, max=64, description="D", continuous_update=False),
                              n=log_int_slider("n", 1024, 16, 65536))


def plot_two_gaussians(l: int, distance: float, sigma_w: float, grid: int, box: float = 16.0, device="cpu") -> str:
    """Draw ``U_{l,0}`` of two Gaussians (a slice and its Fourier envelope) and return a summary line.

    All lengths in units of the Gaussian width sigma; ``grid`` points per side of a ``box``-sigma periodic box
    (:func:`localbook.scattering3d.aliasing.two_gaussian_view`). The summary gives the largest modulus on
    the Nyquist faces of the grid, relative to its value at zero frequency: the aliasing error it implies.
    """
    import matplotlib.pyplot as plt

    from localbook.scattering3d import aliasing

    view = aliasing.two_gaussian_view(int(l), float(distance), float(sigma_w), int(grid), box=box, device=device)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    aliasing.plot_two_gaussian_view(view, axes)
    fig.tight_layout()
    return (f"l = {view.l}, atoms {view.distance:g} sigma apart, sigma_w = {float(sigma_w):g} sigma, {int(grid)}^3 "
            f"points on {box:g} sigma: modulus on the Nyquist faces {view.nyquist_modulus:.1e}")


def aliasing_explorer(device="cpu", box: float = 16.0):
    """Chapter 01: two Gaussians, their first-order density ``U_{l,0}`` and its spectrum, for chosen
    ``l``, distance, wavelet width and grid. Callback: :func:`plot_two_gaussians`."""
    import functools

    import ipywidgets as w

    return interactive_figure(
        functools.partial(plot_two_gaussians, box=box, device=device), show=False,
        l=w.IntSlider(value=3, min=0, max=6, description="l", continuous_update=False),
        distance=w.FloatSlider(value=4.3, min=1.0, max=8.0, step=0.1, description="distance / σ",
                               continuous_update=False),
        sigma_w=w.FloatSlider(value=0.5, min=0.25, max=2.0, step=0.05, description="σ_w / σ",
                              continuous_update=False),
        grid=w.Dropdown(options=[32, 48, 64, 96], value=64, description="grid"))


# ------------------------------------------------------------------------------- builders for any chapter
def _errors_table(train_sizes, errors) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    sizes = np.asarray(train_sizes, dtype=float)
    if sizes.ndim != 1 or len(sizes) < 2 or np.any(sizes <= 0):
        raise ValueError(f"train_sizes must be a 1-D sequence of at least 2 positive sizes, got {train_sizes!r}")
    if not errors:
        raise ValueError("errors is empty: give {model name: errors per training size}")
    table = {}
    for name, e in errors.items():
        e = np.asarray(e, dtype=float)
        if e.ndim == 2:  # (n_sizes, n_folds): the mean over folds
            e = e.mean(axis=1)
        if e.shape != sizes.shape:
            raise ValueError(f"errors[{name!r}] has shape {np.shape(errors[name])}; expected ({len(sizes)},) or "
                             f"({len(sizes)}, n_folds) to match the {len(sizes)} training sizes")
        table[str(name)] = e
    return sizes, table


def plot_learning_curves(train_sizes: Sequence[float], errors: Mapping[str, Sequence[float]],
                         models: Sequence[str] | None = None, n_max: float | None = None,
                         unit: str = "", ax=None) -> str:
    """Errors against training size (log-log) for ``models`` (default: all) up to ``n_max``, with a fitted
    slope per model; returns a one-line summary of the errors at the largest shown size.

    ``errors[model]``: one error per training size, or ``(n_sizes, n_folds)`` (the fold mean is drawn).
    """
    import matplotlib.pyplot as plt

    from localbook.plotting import learning_curves

    sizes, table = _errors_table(train_sizes, errors)
    models = list(table) if models is None else [str(m) for m in models]
    unknown = [m for m in models if m not in table]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose among {list(table)}")
    if not models:
        raise ValueError("no model selected; select at least one")
    shown = sizes <= (sizes[-1] if n_max is None else n_max)
    if shown.sum() < 2:
        raise ValueError(f"n_max = {n_max} leaves fewer than 2 training sizes; choose n_max >= {sizes[1]:g}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    learning_curves(ax, sizes[shown], {m: table[m][shown] for m in models},
                    ylabel=f"error ({unit})" if unit else "error")
    n = sizes[shown][-1]
    return f"n = {n:g}: " + ", ".join(f"{m} {table[m][shown][-1]:.3g}" for m in models) + (f" {unit}" if unit else "")


def learning_curve_explorer(train_sizes: Sequence[float], errors: Mapping[str, Sequence[float]], unit: str = ""):
    """An explorer of learning curves: a multi-select of models and a slider of the largest training size.

    ``errors[model]``: one error per training size, or ``(n_sizes, n_folds)``. Callback:
    :func:`plot_learning_curves`. Example: ``widgets.learning_curve_explorer(sizes, {"scattering": mae_s,
    "atom counts": mae_0}, unit="kcal/mol")``.
    """
    import functools

    import ipywidgets as w

    sizes, table = _errors_table(train_sizes, errors)
    models = w.SelectMultiple(options=list(table), value=tuple(table), description="models",
                              rows=min(6, len(table)))
    n_max = w.SelectionSlider(options=[int(s) if float(s).is_integer() else float(s) for s in sizes],
                              value=int(sizes[-1]) if float(sizes[-1]).is_integer() else float(sizes[-1]),
                              description="largest n", continuous_update=False)
    plot = functools.partial(plot_learning_curves, sizes, table, unit=unit)
    return interactive_figure(lambda models, n_max: plot(models=list(models), n_max=n_max), show=False,
                              models=models, n_max=n_max)


def plot_parity(y_true: Sequence[float], y_pred: Mapping[str, Sequence[float]] | Sequence[float],
                groups: Sequence | None = None, model: str | None = None, group: Any = "all", unit: str = "",
                ax=None) -> str:
    """Predicted against true values of one ``model`` on one ``group`` (``"all"``: every point, coloured by
    group); returns the MAE, RMSE and count of the shown points.

    ``y_pred``: one array, or ``{model name: array}``; ``groups``: one label per point (e.g. a density).
    """
    import matplotlib.pyplot as plt

    from localbook.plotting import parity_plot

    y = np.asarray(y_true, dtype=float)
    preds = {"model": y_pred} if not isinstance(y_pred, Mapping) else dict(y_pred)
    model = next(iter(preds)) if model is None else model
    if model not in preds:
        raise ValueError(f"unknown model {model!r}; choose among {list(preds)}")
    p = np.asarray(preds[model], dtype=float)
    g = np.full(len(y), "all", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    if p.shape != y.shape or g.shape != y.shape:
        raise ValueError(f"y_true, y_pred[{model!r}] and groups must have one value per point, got shapes "
                         f"{y.shape}, {p.shape}, {g.shape}")
    mask = np.ones(len(y), bool) if group == "all" else g == group
    if not mask.any():
        raise ValueError(f"no point in group {group!r}; choose among {sorted(set(g.tolist()), key=str)} or 'all'")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.4))
    err = parity_plot(ax, y[mask], p[mask], g[mask] if group == "all" else None, unit=unit, title=f"{model}, {group}")
    return (f"{model}, {group}: MAE {err['mae']:.3g}, RMSE {err['rmse']:.3g}"
            f"{' ' + unit if unit else ''} on {int(mask.sum())} points")


def parity_explorer(y_true: Sequence[float], y_pred: Mapping[str, Sequence[float]] | Sequence[float],
                    groups: Sequence | None = None, unit: str = ""):
    """A parity plot with a dropdown of models and a dropdown of groups (``"all"`` and each label).

    Callback: :func:`plot_parity`. Example: ``widgets.parity_explorer(y, {"scattering": pred_s, "SOAP":
    pred_soap}, groups=density, unit="eV/atom")``.
    """
    import functools

    import ipywidgets as w

    preds = {"model": y_pred} if not isinstance(y_pred, Mapping) else dict(y_pred)
    labels = [] if groups is None else sorted(set(np.asarray(groups, dtype=object).tolist()), key=str)
    plot = functools.partial(plot_parity, y_true, preds, groups, unit=unit)
    return interactive_figure(lambda model, group: plot(model=model, group=group), show=False,
                              model=w.Dropdown(options=list(preds), description="model"),
                              group=w.Dropdown(options=["all", *labels], description="group"))
