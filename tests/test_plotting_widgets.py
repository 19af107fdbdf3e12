import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from localbook import local_methods as lm  # noqa: E402
from localbook.plotting import learning_curves, text_table, thesis_vs_book  # noqa: E402


def test_learning_curves_report_fitted_slopes():
    n = np.array([10, 100, 1000, 10000])
    fig, ax = plt.subplots()
    slopes = learning_curves(ax, n, {"a": n ** -0.5, "b": 2 * n ** -1.0}, reference_slopes={"a": -0.5})
    assert slopes["a"] == pytest.approx(-0.5) and slopes["b"] == pytest.approx(-1.0)
    assert "theory -0.500" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_tables_are_aligned_and_checked():
    table = thesis_vs_book([("MAE", "1.89", "2.5", "1,000 molecules")])
    lines = table.splitlines()
    assert lines[0].startswith("quantity") and lines[2].split() == ["MAE", "1.89", "2.5", "1,000", "molecules"]
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        text_table([(1, 2, 3)], header=("a", "b"))


def test_widget_callback_runs_without_a_browser():
    summary = lm.plot_curse_demo(4, 256)
    assert summary.startswith("D = 4, n = 256: 1-NN relative RMSE")
    plt.close("all")


def test_interactive_figure_redraws_on_change():
    import ipywidgets as w
    from localbook.widgets import interactive_figure, log_int_slider

    calls = []

    def plot(dim, n):
        calls.append((dim, n))
        return f"{dim} {n}"
    dim = w.IntSlider(value=2, min=1, max=8)
    n = log_int_slider("n", 100, 10, 1000)
    interactive_figure(plot, dim=dim, n=n)
    dim.value = 3
    assert calls == [(2, 100), (3, 100)]
    assert 100 in n.options and min(n.options) == 10 and max(n.options) == 1000


def test_table_prints_text_and_displays_html():
    from IPython.lib.pretty import pretty

    from localbook.plotting import Table

    table = text_table([("a<b", 1.5), ("c", "x & y")], header=("name", "value"), caption="two rows")
    assert isinstance(table, (Table, str)) and str(table).splitlines()[0] == "name  value"
    assert pretty(table) == str(table)  # IPython's text/plain: the aligned text, not a quoted repr
    html = table._repr_html_()
    assert "<th>name</th>" in html and "<td>a&lt;b</td>" in html and "<td>x &amp; y</td>" in html
    assert "<caption>two rows</caption>" in html and html.count("<tr>") == 3
    assert text_table([], header=("only a header",)).splitlines() == ["only a header", "-------------"]


def test_explorers_redraw_through_their_plain_callbacks(capsys):
    # outside a kernel an Output widget does not capture: what it would show goes to stdout
    from localbook import widgets

    sizes = [100, 200, 400, 800]
    errors = {"scattering": [4.0, 3.0, 2.2, 1.6], "atom counts": np.array([[9, 9.5]] * 4)}
    box = widgets.learning_curve_explorer(sizes, errors, unit="kcal/mol")
    models, n_max = box.children[0].children
    assert "n = 800: scattering 1.6, atom counts 9.25 kcal/mol" in capsys.readouterr().out
    n_max.value = 200
    assert "n = 200: scattering 3" in capsys.readouterr().out
    models.value = ("atom counts",)
    assert "scattering" not in capsys.readouterr().out
    n_max.value = 100  # one point is too few to draw a curve: said in the output, the widget keeps working
    assert "fewer than 2 training sizes" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"expected \(4,\) or \(4, n_folds\)"):
        widgets.plot_learning_curves(sizes, {"bad": [1, 2]})

    y = np.array([1.0, 2.0, 3.0, 4.0])
    box = widgets.parity_explorer(y, {"a": y + 0.5, "b": y}, groups=["lo", "lo", "hi", "hi"], unit="eV")
    model, group = box.children[0].children
    assert list(group.options) == ["all", "hi", "lo"] and "a, all: MAE 0.5" in capsys.readouterr().out
    model.value, group.value = "b", "hi"
    assert "b, hi: MAE 0, RMSE 0 eV on 2 points" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no point in group 'mid'"):
        widgets.plot_parity(y, y, ["lo"] * 4, group="mid")
    plt.close("all")


def test_aliasing_explorer_builds_with_keyword_sliders_and_redraws(capsys):
    from localbook import widgets

    box = widgets.aliasing_explorer()
    l, distance, sigma_w, grid = box.children[0].children
    assert (l.value, distance.value, sigma_w.value, grid.value) == (3, 4.3, 0.5, 64)
    grid.value = 32
    l.value = 4
    assert "l = 4, atoms 4.3 sigma apart, sigma_w = 0.5 sigma, 32^3 points" in capsys.readouterr().out
    plt.close("all")


def test_slider_figure_shows_one_state_per_step_and_keeps_fixed_traces():
    import plotly.graph_objects as go

    from localbook import webfigures as wf

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="fixed"))
    wf.slider_figure(fig, [("a", [go.Bar(x=[1], y=[1])]), ("b", [go.Bar(x=[1], y=[2]), go.Bar(x=[2], y=[3])])],
                     "state ", active=1, titles=["A", "B"])
    steps = fig.layout.sliders[0].steps
    assert [s.args[0]["visible"] for s in steps] == [[True, True, False, False], [True, False, True, True]]
    assert [t.visible for t in fig.data] == [None, False, True, True] and fig.layout.title.text == "B"
    with pytest.raises(ValueError, match="one title per state"):
        wf.slider_figure(go.Figure(), [("a", [])], "x", titles=["A", "B"])


def test_web_figures_carry_every_state_and_a_stable_mime_bundle():
    from localbook import webfigures as wf

    fig = wf.curse_figure([1, 8], n=256, n_test=100)
    states = [tr.y for tr in fig.figure.data]
    assert len(states) == 4 and not np.array_equal(states[0], states[2])  # D = 1 and D = 8 differ
    bundle = fig._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html", "text/plain"}
    assert fig.div_id in bundle["text/html"] and "Plotly.newPlot" in bundle["text/html"]
    assert wf.curse_figure([1, 8], n=256, n_test=100).div_id == fig.div_id  # same figure, same id
    assert bundle["text/plain"].startswith("distance histograms behind a slider over D, n = 256")

    alias = wf.aliasing_figure([2, 3], distance=4.3, grid=32)
    assert [tr.type for tr in alias.figure.data] == ["heatmap", "scatter", "heatmap", "scatter"]
    assert "l=2: " in alias.summary and "l=3: " in alias.summary

    sizes = [100, 200, 400]
    lc = wf.learning_curve_figure(sizes, {"m": np.array([[3, 3.4], [2, 2.2], [1.5, 1.3]])}, unit="kcal/mol")
    assert lc.summary.endswith("at the largest n: m 1.4 kcal/mol")
    assert lc.figure.layout.sliders[0].active == 2 and len(lc.figure.layout.sliders[0].steps) == 3
    with pytest.raises(ValueError, match="expected \\(3,\\) or \\(3, n_folds\\)"):
        wf.learning_curve_figure(sizes, {"m": [1, 2]})


def test_image_sequence_figure_embeds_each_image_once():
    import torch

    from localbook import webfigures as wf

    frames = [torch.full((1, 3, 8, 8), v) for v in (0.0, 0.5, 1.0)]
    fig = wf.image_sequence_figure(frames, ["t = 0", "t = 1", "t = 2"], title="recursion")
    sources = [tr.source for tr in fig.figure.data]
    assert len(set(sources)) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert fig.figure.layout.title.text == "recursion: t = 0"
    with pytest.raises(ValueError, match="one label per image"):
        wf.image_sequence_figure(frames, ["t = 0"])


def test_parity_plot_draws_groups_and_returns_the_errors():
    from localbook.plotting import parity_plot

    fig, ax = plt.subplots()
    err = parity_plot(ax, [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0], ["a", "a", "b", "b"], unit="eV",
                      title="t", quantity="E")
    assert err["mae"] == pytest.approx(0.5) and err["max"] == pytest.approx(2.0)
    assert ax.get_title() == "t\nMAE 0.5, RMSE 1 eV" and ax.get_xlabel() == "true E (eV)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="one label per point"):
        parity_plot(ax, [1.0, 2.0], [1.0, 2.0], ["a"])
    plt.close(fig)


def test_loglog_spectra_draws_odd_solid_even_dashed():
    from localbook.plotting import loglog_spectra

    fig, ax = plt.subplots()
    w = np.linspace(0, 10, 11)
    loglog_spectra(ax, {1: (w, np.exp(-w)), 2: (w, np.zeros_like(w))}, "t", fit_range=(2, 4))
    solid, dashed = ax.get_lines()
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--" and len(solid.get_xdata()) == 10
    assert dashed.get_ydata().min() == 1e-18 and ax.get_title() == "t"  # zeros drawn at the floor
    plt.close(fig)
