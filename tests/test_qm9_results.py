"""localbook.atoms.qm9_results: the chapter-02 table and learning curves, on synthetic models."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from localbook.atoms import qm9_results as results
from localbook.atoms.qm9_baselines import RegressionModel
from localbook.regression import LearningCurve


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
    curves = {"Scatt. linear": LearningCurve(train_sizes=n, errors={"mae": mae}),
              "flat": LearningCurve(train_sizes=n, errors={"mae": np.full((4, 5), 3.0)})}
    guess = results.power_law_guesses(curves, ["Scatt. linear", "flat"])
    slope, at_thesis = guess["Scatt. linear"]
    assert type(at_thesis) is float and slope == pytest.approx(-0.5)
    np.testing.assert_allclose(at_thesis, 50.0 * results.THESIS_N_TRAIN ** -0.5, rtol=1e-9)
    assert guess["flat"] == pytest.approx((0.0, 3.0))
    sizes, errors = results.curve_errors(curves)
    assert list(sizes) == list(n) and errors["flat"].shape == (4, 5)
    with pytest.raises(ValueError, match="same training sizes"):
        results.curve_errors({**curves, "other": LearningCurve(train_sizes=n[:3], errors={"mae": mae[:3]})})


def test_thesis_points_are_table_2_1():
    points = results.thesis_points(["Scatt. linear", "Scatt. trilinear"])
    assert points == {"thesis: Scatt. linear": ([107_108], [1.89]), "thesis: Scatt. trilinear": ([107_108], [0.56])}


def test_beats_baselines_compares_fold_by_fold():
    y = np.linspace(0.0, 10.0, 50)
    X = y[:, None] + np.random.default_rng(0).normal(0, 0.5, (50, 1))
    models = [RegressionModel("mean", X, DummyRegressor(), None),
              RegressionModel("linear", X, LinearRegression(), None)]
    cv = results.cross_validate_models(models, y, n_splits=5, seed=0)
    assert results.beats_baselines(cv, "linear", ["mean"]) == "linear below mean (fold-mean MAE); lower in 5 of 5 folds"
    assert results.beats_baselines(cv, "mean", ["linear"]).startswith("mean NOT below linear")


def test_the_shipped_gpu_run_is_read_and_consistent():
    from localbook.atoms.qm9_results import load_gpu_run

    run = load_gpu_run()
    assert run.n_molecules >= 10_000 and run.curve_sizes[-1] < run.n_molecules
    linear = run.curves["Scatt. linear (thesis sampling)"]
    assert linear.shape == (len(run.curve_sizes), run.raw["curve"]["n_splits"])
    # the thesis' sampling must beat the trivial baseline by far, and improve with data
    assert linear[-1].mean() < run.curves["Dressed atom"][-1].mean() / 5
    assert linear[-1].mean() < linear[0].mean()
    assert run.timing["molecules"] == run.n_molecules


def test_a_malformed_gpu_run_names_the_tool_that_remakes_it(tmp_path):
    import json

    import pytest

    from localbook.atoms.qm9_results import load_gpu_run

    with pytest.raises(FileNotFoundError, match="qm9_gpu_run.py"):
        load_gpu_run(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text(json.dumps({"n_molecules": 3, "curve": {"train_sizes": [1, 2]}}))
    with pytest.raises(ValueError, match="qm9_gpu_fit.py"):
        load_gpu_run(tmp_path / "bad.json")
