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
