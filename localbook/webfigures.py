"""Figures that stay interactive without a kernel: precomputed states behind a slider, drawn by Plotly.

A widget needs a running kernel, so in the rendered book it is a dead cell. The figures here compute every
state in advance (one per slider position) and hand them to Plotly, whose JavaScript draws them and switches
between them in the reader's browser: the slider works on a static web page, offline.

* :class:`WebFigure` wraps a ``plotly.graph_objects.Figure`` for display. Its mime bundle holds
  ``application/vnd.plotly.v1+json`` (JupyterLab draws it with the ``jupyterlab-plotly`` extension that the
  ``plotly`` package installs), ``text/html`` (a ``<div>`` and the ``Plotly.newPlot`` call: the rendered book
  loads ``plotly.min.js`` once per page, copied from the ``plotly`` package by ``tools/copy_plotly_js.py``
  and listed in ``_config.yml``'s ``html_js_files``) and ``text/plain`` (a summary). The ``<div>`` id is a
  hash of the figure, so re-running a chapter does not change its stored output needlessly.
* :func:`slider_figure` builds the slider: every state's traces are in the figure, and each slider step
  makes one state's traces visible (Plotly's ``update`` method), optionally changing the title.
* Builders: :func:`curse_figure` (chapter 00), :func:`aliasing_figure` (chapter 01),
  :func:`learning_curve_figure` (any learning curve, e.g. chapter 02's QM9 errors by model and training size)
  and :func:`image_sequence_figure` (a sequence of images, e.g. chapter 07's self-style recursion).

Plotly is the library; nothing here draws by hand. The browser test (``tests/test_browser.py``) moves each
slider in headless Chromium and checks that the figure changed.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["WebFigure", "slider_figure", "curse_figure", "aliasing_figure", "learning_curve_figure",
           "image_sequence_figure", "PLOTLY_JS_NAME"]

PLOTLY_JS_NAME = "plotly.min.js"  # the file the book serves from _static (tools/copy_plotly_js.py)
_MISSING_JS = ("This interactive figure is drawn by plotly.js, which this page did not load: open it in the "
               "rendered book or in JupyterLab (make lab).")


class WebFigure:
    """A Plotly figure displayed with a mime bundle that works in JupyterLab and on a static page.

    ``figure``: a ``plotly.graph_objects.Figure``; ``summary``: the ``text/plain`` representation (what a
    terminal, nbval or a reader without JavaScript sees); ``height``: pixels.
    """

    def __init__(self, figure, summary: str, height: int = 420):
        self.figure = figure
        self.summary = summary
        self.height = int(height)
        self.figure.update_layout(height=self.height)

    def to_json(self) -> str:
        """The figure as Plotly JSON (numpy arrays as lists)."""
        import plotly.io as pio

        return pio.to_json(self.figure, validate=False)

    @property
    def div_id(self) -> str:
        """A stable element id: a hash of the figure's JSON."""
        return "lbfig-" + hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_html(self) -> str:
        """A ``<div>`` and the script that draws it with the page's ``window.Plotly``."""
        import plotly.io as pio

        div = pio.to_html(self.figure, full_html=False, include_plotlyjs=False, div_id=self.div_id,
                          default_height=f"{self.height}px", default_width="100%",
                          config={"displaylogo": False, "responsive": True})
        guard = (f'<script>if (!window.Plotly) {{ document.getElementById("{self.div_id}").textContent = '
                 f'{json.dumps(_MISSING_JS)}; }}</script>')
        return f'<div class="localbook-webfigure">{guard}{div}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"application/vnd.plotly.v1+json": json.loads(self.to_json()), "text/html": self.to_html(),
                "text/plain": self.summary}

    def __repr__(self) -> str:
        return f"WebFigure({self.summary!r})"


def slider_figure(figure, states: Sequence[tuple[str, Sequence[Any]]], label: str, active: int = 0,
                  titles: Sequence[str] | None = None):
    """Add each state's traces to ``figure`` and a slider that shows one state at a time.

    ``states``: ``(step label, traces)`` pairs; traces are Plotly trace objects that carry their own axes
    (``xaxis="x2"``...) when ``figure`` has subplots. Traces already in ``figure`` stay visible at every step.
    ``label``: the slider's prefix (e.g. ``"D = "``);
    ``titles``: one figure title per state (optional). Returns ``figure``.
    """
    if not states:
        raise ValueError("slider_figure needs at least one state")
    if not 0 <= active < len(states):
        raise ValueError(f"active = {active} is not a state index in [0, {len(states) - 1}]")
    if titles is not None and len(titles) != len(states):
        raise ValueError(f"{len(titles)} titles for {len(states)} states; give one title per state or none")
    owner = [-1] * len(figure.data)  # -1: a fixed trace, shown at every step
    for k, (_, traces) in enumerate(states):
        for trace in traces:
            trace.visible = k == active
            figure.add_trace(trace)
            owner.append(k)
    steps = []
    for k, (step_label, _) in enumerate(states):
        layout = {"title.text": titles[k]} if titles is not None else {}
        steps.append({"method": "update", "label": str(step_label),
                      "args": [{"visible": [o in (-1, k) for o in owner]}, layout]})
    figure.update_layout(sliders=[{"active": active, "currentvalue": {"prefix": label}, "steps": steps,
                                   "pad": {"t": 40}}])
    if titles is not None:
        figure.update_layout(title_text=titles[active])
    return figure


# --------------------------------------------------------------------------------------------- builders
def curse_figure(dims: Sequence[int], n: int, n_test: int = 500, n_bins: int = 40, seed: int = 0,
                 device=None) -> WebFigure:
    """Chapter 00: for each ``D`` in ``dims`` (the slider), the histograms of the distance from ``n_test`` test
    points to their nearest of ``n`` uniform training points in ``[0, 1]^D`` and to all of them.

    The numbers are :func:`localbook.local_methods.curse_demo`'s; the summary lists the nearest / mean ratio
    per ``D``.
    """
    import plotly.graph_objects as go

    from localbook.local_methods import curse_demo

    if not dims:
        raise ValueError("dims is empty: give the dimensions D to put behind the slider, e.g. [1, 2, 4, 8, 16]")
    states, titles, ratios = [], [], []
    for dim in dims:
        r = curse_demo(int(dim), int(n), n_test=n_test, seed=seed, device=device)
        edges = np.linspace(0.0, max(r["_mean"].max(), r["_nn"].max()) * 1.05, n_bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        traces = [go.Bar(x=centres.round(5), y=np.histogram(r[key], edges)[0], name=name, opacity=0.7,
                         width=float(edges[1] - edges[0]), marker_color=color)
                  for key, name, color in (("_nn", "to the nearest training point", "#1f77b4"),
                                           ("_mean", "mean to all training points", "#ff7f0e"))]
        states.append((f"{dim}", traces))
        titles.append(f"D = {dim}, n = {n}: nearest / mean distance = {r['ratio']:.2f}, "
                      f"1-NN relative RMSE = {r['relative_rmse']:.3f}")
        ratios.append(f"D={dim}: {r['ratio']:.2f}")
    fig = go.Figure()
    slider_figure(fig, states, "D = ", titles=titles)
    fig.update_layout(barmode="overlay", xaxis_title="distance", yaxis_title="test points",
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"}, margin={"t": 90},
                      template="simple_white")
    return WebFigure(fig, f"distance histograms behind a slider over D, n = {n}; nearest / mean: "
                     + ", ".join(ratios))


def aliasing_figure(ls: Sequence[int], distance: float, sigma_w: float = 0.5, grid: int = 64, box: float = 16.0,
                    device="cpu") -> WebFigure:
    """Chapter 01: for each ``l`` in ``ls`` (the slider), ``U_{l,0}`` of two Gaussians ``distance`` apart
    (a slice through both atoms) and the radial envelope of its Fourier modulus.

    Lengths in units of sigma; ``grid`` points per side of a ``box``-sigma periodic box
    (:func:`localbook.scattering3d.aliasing.two_gaussian_view`). The spectrum's axes are fixed, so that moving
    from even to odd ``l`` shows the slow decay; the summary lists the modulus on the Nyquist faces per ``l``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from localbook.scattering3d import aliasing

    if not ls:
        raise ValueError("ls is empty: give the degrees l to put behind the slider, e.g. [0, 1, 2, 3, 4, 5]")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.2,
                        subplot_titles=("U_(l,0)[ρ], slice through both atoms", "Fourier modulus, max over shells"))
    states, titles, faces = [], [], []
    for l in ls:
        v = aliasing.two_gaussian_view(int(l), float(distance), float(sigma_w), int(grid), box=box, device=device)
        x = np.linspace(v.extent[0], v.extent[1], v.slice.shape[0])
        cx = np.abs(x) <= min(box / 2, 0.75 * distance + 2.0)  # around the two atoms (keeps the page light)
        cy = np.abs(x) <= min(box / 2, 0.5 * distance + 2.0)
        z = v.slice[np.ix_(cy, cx)] / v.slice.max()
        heat = go.Heatmap(z=z.round(3), x=x[cx].round(3), y=x[cy].round(3), colorscale="Magma", showscale=False,
                          xaxis="x", yaxis="y", name=f"l={l}", hovertemplate="x %{x}, y %{y}: %{z}<extra></extra>")
        keep = v.w > 0
        line = go.Scatter(x=v.w[keep].round(4), y=np.maximum(v.envelope[keep], 1e-18).astype(np.float32), mode="lines",
                          xaxis="x2", yaxis="y2", name=f"l = {l}", line={"color": "#d62728" if l % 2 else "#1f77b4"})
        states.append((f"{l}", [heat, line]))
        titles.append(f"l = {l} ({'odd' if l % 2 else 'even'}): modulus on the Nyquist faces "
                      f"{v.nyquist_modulus:.1e} ({grid}³ points on {box:g} σ)")
        faces.append(f"l={l}: {v.nyquist_modulus:.1e}")
    slider_figure(fig, states, "l = ", titles=titles)
    fig.update_xaxes(title_text="x / σ", row=1, col=1)
    fig.update_yaxes(title_text="y / σ", scaleanchor="x", row=1, col=1)
    fig.update_xaxes(title_text="|ω| σ", type="log", row=1, col=2)
    fig.update_yaxes(title_text="modulus / value at 0", type="log", range=[-16, 0.3], exponentformat="power",
                     row=1, col=2)
    fig.update_layout(showlegend=False, margin={"t": 90}, template="simple_white")
    return WebFigure(fig, f"two Gaussians {distance:.3g} sigma apart, slider over l; Nyquist-face modulus: "
                     + ", ".join(faces), height=460)


def learning_curve_figure(train_sizes: Sequence[float], errors: Mapping[str, Any], unit: str = "",
                          title: str = "", thesis: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None
                          ) -> WebFigure:
    """Learning curves by model, with a slider over the training size that marks each model's error there.

    ``errors[model]``: one error per training size, or ``(n_sizes, n_folds)`` (the fold mean is drawn, with the
    fold range as a band). ``thesis``: optional ``{label: (sizes, errors)}`` drawn as grey reference points.
    Log-log axes; clicking a legend entry hides a model. One line in a chapter, e.g. chapter 02:
    ``webfigures.learning_curve_figure(sizes, {"scattering + ridge": mae_per_size_and_fold}, unit="kcal/mol")``.
    """
    import plotly.graph_objects as go

    sizes = np.asarray(train_sizes, dtype=float)
    if sizes.ndim != 1 or len(sizes) < 2 or np.any(sizes <= 0):
        raise ValueError(f"train_sizes must be a 1-D sequence of at least 2 positive sizes, got {train_sizes!r}")
    if not errors:
        raise ValueError("errors is empty: give {model name: errors per training size}")
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    fig = go.Figure()
    means = {}
    for k, (name, e) in enumerate(errors.items()):
        e = np.asarray(e, dtype=float)
        if e.shape[:1] != sizes.shape or e.ndim not in (1, 2):
            raise ValueError(f"errors[{name!r}] has shape {e.shape}; expected ({len(sizes)},) or "
                             f"({len(sizes)}, n_folds) to match the {len(sizes)} training sizes")
        colour = colours[k % len(colours)]
        mean = e.mean(axis=1) if e.ndim == 2 else e
        means[str(name)] = mean
        if e.ndim == 2 and e.shape[1] > 1:
            fig.add_trace(go.Scatter(x=np.r_[sizes, sizes[::-1]], y=np.r_[e.max(axis=1), e.min(axis=1)[::-1]],
                                     fill="toself", fillcolor=colour, opacity=0.15, line={"width": 0},
                                     hoverinfo="skip", showlegend=False, legendgroup=str(name)))
        fig.add_trace(go.Scatter(x=sizes, y=mean, mode="lines+markers", name=str(name), legendgroup=str(name),
                                 line={"color": colour}))
    for label, (n_ref, e_ref) in (thesis or {}).items():
        fig.add_trace(go.Scatter(x=list(n_ref), y=list(e_ref), mode="markers", name=f"thesis: {label}",
                                 marker={"color": "grey", "symbol": "x", "size": 9}))
    states, titles = [], []
    for i, n in enumerate(sizes):
        markers = [go.Scatter(x=[n] * len(means), y=[m[i] for m in means.values()], mode="markers",
                              marker={"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "black"}},
                              text=list(means), hovertemplate="%{text}: %{y:.3g}<extra></extra>", showlegend=False)]
        states.append((f"{n:g}", markers))
        titles.append(f"{title + ': ' if title else ''}n = {n:g}: "
                      + ", ".join(f"{name} {m[i]:.3g}" for name, m in means.items()) + (f" {unit}" if unit else ""))
    slider_figure(fig, states, "training size n = ", active=len(sizes) - 1, titles=titles)
    fig.update_xaxes(type="log", title_text="training size n")
    fig.update_yaxes(type="log", title_text=f"error ({unit})" if unit else "error")
    fig.update_layout(margin={"t": 90}, template="simple_white", legend={"x": 1.0, "xanchor": "right", "y": 1.0})
    last = ", ".join(f"{name} {m[-1]:.3g}" for name, m in means.items())
    return WebFigure(fig, f"learning curves of {len(means)} model(s) over n = {sizes[0]:g}..{sizes[-1]:g}; at the "
                     f"largest n: {last}{' ' + unit if unit else ''}")


def image_sequence_figure(images: Sequence[Any], labels: Sequence[str], title: str = "",
                          height: int = 380) -> WebFigure:
    """A sequence of images behind a slider (e.g. the iterates of a recursion), one image per step.

    ``images``: tensors ``(1, 3, H, W)`` in [0, 1] (or ``(3, H, W)``); ``labels``: one slider label per image.
    Each image is embedded once as a PNG (a data URI), so the page stays small.
    """
    import base64

    import plotly.graph_objects as go

    from localbook.art.images import to_png_bytes

    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(f"give one label per image and at least one image, got {len(images)} images and "
                         f"{len(labels)} labels")
    states = []
    for image, label in zip(images, labels):
        image = image if image.ndim == 4 else image[None]
        uri = "data:image/png;base64," + base64.b64encode(to_png_bytes(image.detach().cpu())).decode()
        states.append((str(label), [go.Image(source=uri, name=str(label), hoverinfo="skip")]))
    fig = go.Figure()
    slider_figure(fig, states, "", titles=[f"{title}: {label}" if title else str(label) for label in labels])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(margin={"t": 60, "l": 10, "r": 10}, template="simple_white")
    return WebFigure(fig, f"{len(images)} images behind a slider: " + ", ".join(map(str, labels)), height=height)
