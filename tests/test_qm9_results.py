"""localbook.atoms.qm9_results: the chapter-02 table and learning curves, on synthetic models."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.dummy import DummyRegressor  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from localbook.atoms import qm9_results as results  # noqa: E402
from localbook.atoms.qm9_baselines import RegressionModel  # noqa: E402
from localbook.regression import LearningCurve  # noqa: E402


def test_models_share_folds_and_the_table_reads_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, 2.0, 3.0]
    models = [RegressionModel("mean", X, DummyRegressor(), None), RegressionModel("linear", X, LinearRegression(),
                                                                                  2e-3, "1.89")]
    cv = results.cross_validate_models(models, y, n_splits=4, seed=0)
    np.testing.assert_array_equal(cv["mean"].fold, cv["linear"].fold)
    assert cv["linear"].mae < 1e-10 < cv["mean"].mae
    rows = results.results_rows(models, cv)
    assert rows[0][0] == "mean" and rows[0][-1] == "in the fit"
    assert rows[1][1] == "1.89" and rows[1][-1] == "2"


def test_learning_curve_extrapolation_follows_the_power_law():
    n = np.array([100, 200, 400, 800])
    mae = 50.0 * n[:, None] ** -0.5 * np.ones((1, 5))
    curve = LearningCurve(train_sizes=n, errors={"mae": mae})
    fig, ax = plt.subplots()
    guess = results.plot_learning_curves(ax, {"Scatt. linear": curve}, extrapolate=["Scatt. linear"])
    assert guess["Scatt. linear"] == np.float64(guess["Scatt. linear"])
    np.testing.assert_allclose(guess["Scatt. linear"], 50.0 * results.THESIS_N_TRAIN ** -0.5, rtol=1e-9)
    plt.close(fig)
