import numpy as np
import pytest
from sklearn.base import clone
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


def test_group_ridge_cv_inside_run_folds_gets_the_runs_as_groups():
    X, y, density, run = toy()
    pred = lr.cv_predictions(lr.GroupRidgeCV(), X, y, density, run, per_density=False)
    np.testing.assert_allclose(pred, y, atol=1e-3)


def test_train_mask_restricts_training_rows_but_all_rows_are_predicted():
    X, y, density, run = toy()
    mask = np.zeros(len(y), bool)
    mask[::3] = True
    _, fitted = lr.cv_predictions(LinearRegression(), X, y, density, run, return_models=True, train_mask=mask)
    pred = lr.cv_predictions(LinearRegression(), X, y, density, run, train_mask=mask)
    assert not np.isnan(pred).any()
    with pytest.raises(ValueError):  # a mask leaving a fold too few rows to fit 4 features is the model's error
        lr.cv_predictions(LinearRegression(), X, y, density, run, train_mask=np.zeros(len(y), bool))


def test_wavelet_guard_rejects_wavelets_wider_than_half_the_smallest_cell():
    from ase import Atoms

    cells = [Atoms("C", positions=[[0, 0, 0]], cell=[s] * 3, pbc=True) for s in (13.0, 17.0)]
    assert lr.check_wavelets_fit_cells(cells, [0, 1, 2, 3], 0.8) == pytest.approx(6.5)  # 6.4 Å fits
    with pytest.raises(ValueError, match=r"keep j <= 3"):
        lr.check_wavelets_fit_cells(cells, [0, 1, 2, 3, 4], 0.8)
    with pytest.warns(UserWarning, match="wider than half"):
        lr.check_wavelets_fit_cells(cells, [0, 3.5], 0.8, action="warn")


def test_coefficient_scales_use_the_largest_j_of_each_coefficient():
    from localbook.scattering3d.transform import CoefficientLabel as C

    labels = [C(0, "ones", 1.0), C(1, "ones", 1.0, 0, 1.0), C(2, "ones", 2.0, 1, 0.5, 1, 2.0)]
    s = lr.coefficient_scales(labels, 0.8)
    assert np.isnan(s[0]) and s[1] == pytest.approx(1.6) and s[2] == pytest.approx(3.2)


def test_residual_stack_fits_the_second_model_on_the_first_ones_in_fold_residual():
    X, y, density, run = toy()
    X2 = np.random.default_rng(1).normal(size=(len(y), 2))
    y = X[:, 0] * 2.0 + X2[:, 1] * 0.5 + 1.0
    stack = lr.ResidualStack(LinearRegression(), lr.GroupRidgeCV(), lambda rows: X[rows][:, :1],
                             lambda rows: X2[rows])
    pred = lr.cv_predictions(stack, np.arange(len(y)), y, density, run, per_density=False)
    first_only = lr.cv_predictions(LinearRegression(), X[:, :1], y, density, run, per_density=False)
    rmse = lambda p: np.sqrt(np.mean((p - y) ** 2))  # noqa: E731
    assert rmse(pred) < 0.2 * rmse(first_only)
    fitted = clone(stack).fit(np.arange(len(y)), y, groups=run)
    assert fitted.second_.alpha_ is not None and abs(fitted.first_.coef_[0] - 2.0) < 0.2
