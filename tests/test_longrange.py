import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from localbook.atoms import longrange as lr


def toy(n_per=6, seed=0):
    rng = np.random.default_rng(seed)
    density = np.repeat([1.0, 1.5], 5 * n_per)
    run = np.tile(np.repeat(np.arange(5), n_per), 2)
    X = rng.normal(size=(len(run), 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    return X, y, density, run


def test_every_structure_is_predicted_by_a_model_that_never_saw_its_run():
    X, y, density, run = toy()
    X[run == 2] += 100.0  # a run far away: seen in training it would be fit, unseen it is extrapolated
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    pred, fitted = lr.cv_predictions(LinearRegression(), X, y, density, run, return_models=True)
    assert not np.isnan(pred).any() and len(fitted) == 10
    for rows, _ in fitted:
        assert len(set(run[rows])) == 1 and len(set(density[rows])) == 1
    np.testing.assert_allclose(pred, y, atol=1e-8)  # exact linear target: extrapolates perfectly


def test_errors_by_density_in_mev():
    rows = lr.errors_by_density([1.0, 2.0, 3.0, 4.0], [1.001, 2.0, 3.0, 4.003], [1, 1, 2, 2])
    assert rows[0][:2] == (1.0, pytest.approx(0.5)) and rows[1][1] == pytest.approx(1.5)
    assert np.isnan(rows[-1][0]) and rows[-1][2] == pytest.approx(np.sqrt((1 + 9) / 4))


def test_linear_coefficients_fold_the_scaler_and_truncation_uses_them():
    X, y, density, run = toy()
    model = make_pipeline(StandardScaler(), Ridge(alpha=1e-9)).fit(X, y)
    coef, intercept = lr.linear_coefficients(model)
    np.testing.assert_allclose(X @ coef + intercept, model.predict(X), atol=1e-10)
    _, fitted = lr.cv_predictions(make_pipeline(StandardScaler(), Ridge(alpha=1e-9)), X, y, density, run,
                                  return_models=True)
    scales = np.array([np.nan, 1.0, 2.0, 4.0])
    err = lr.truncated_scale_errors(X, y, fitted, scales, lengths=[0.5, 1.0, 2.0, 4.0])
    assert err[0] > err[1] > err[2] and err[2] < 1e-3 and err[3] < 1e-3
