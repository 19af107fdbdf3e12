"""localbook.regression: linear models, the multilinear regression (thesis sec. 2.3.2), metrics, cross-validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from localbook.regression import (ALPHAS, GroupRidgeCV, MultilinearRegressor, cross_val_predictions, cv_folds,
                                  errors, errors_by, learning_curve, make_linear, split_curve, unfold_linear)


def mae(y_true, y_pred):
    return errors(y_true, y_pred)["mae"]


def make_ridge(**kw):
    return make_linear("ridge", **kw)


def _linear_problem(n=300, d=6, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 10, size=d) + rng.normal(size=d) * 3
    y = X @ rng.normal(size=d) + 2.0 + noise * rng.normal(size=n)
    return X, y


def test_order_1_is_least_squares():
    X, y = _linear_problem()
    model = MultilinearRegressor(order=1, n_terms=4, n_epochs=300, batch_size=None, lr=3e-2, dtype="float64",
                                 device="cpu").fit(X, y)
    lstsq = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.predict(X), lstsq.predict(X), atol=1e-3 * y.std())
    # ... and therefore the ridge with cross-validated alpha, whose alpha is tiny on this well-posed problem
    ridge = make_ridge().fit(X, y)
    np.testing.assert_allclose(model.predict(X), ridge.predict(X), atol=1e-2 * y.std())


def _planted(order, n=2000, d=5, seed=1):
    """y = prod_k (<x, a_k> + c_k) + <x, a_0>: a planted multilinear function of order ``order``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = rng.normal(size=(order + 1, d)) / np.sqrt(d)
    y = np.prod(X @ a[1:].T + 1.0, axis=1) + X @ a[0]
    return X, y


@pytest.mark.parametrize("order", [2, 3])
def test_recovers_planted_multilinear_function(order):
    X, y = _planted(order)
    tr, te = slice(0, 1500), slice(1500, None)
    model = MultilinearRegressor(order=order, n_terms=4, n_epochs=150, batch_size=128, lr=1e-2,
                                 device="cpu").fit(X[tr], y[tr])
    err = mae(y[te], model.predict(X[te]))
    ridge_err = mae(y[te], make_ridge().fit(X[tr], y[tr]).predict(X[te]))
    scale = np.abs(y[te] - y[te].mean()).mean()
    assert err < 0.03 * scale, (err, scale)
    assert ridge_err > 0.2 * scale  # a linear model cannot: the test has power
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_lower_order_cannot_fit_higher_order():
    X, y = _planted(3)
    tr, te = slice(0, 1500), slice(1500, None)
    kw = dict(n_terms=4, n_epochs=150, batch_size=128, lr=1e-2, device="cpu")
    err2 = mae(y[te], MultilinearRegressor(order=2, **kw).fit(X[tr], y[tr]).predict(X[te]))
    err3 = mae(y[te], MultilinearRegressor(order=3, **kw).fit(X[tr], y[tr]).predict(X[te]))
    assert err3 < 0.5 * err2


def test_seeded_and_sklearn_compatible():
    X, y = _linear_problem(n=100, d=3)
    kw = dict(order=2, n_terms=3, n_epochs=5, device="cpu")
    a = MultilinearRegressor(random_state=1, **kw).fit(X, y).predict(X)
    b = clone(MultilinearRegressor(random_state=1, **kw)).fit(X, y).predict(X)
    c = MultilinearRegressor(random_state=2, **kw).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert MultilinearRegressor(**kw).get_params()["order"] == 2
    m = MultilinearRegressor(**{**kw, "n_epochs": 60, "batch_size": 16}).fit(X, y)
    assert m.n_features_in_ == 3 and len(m.loss_curve_) == 60 and 0.9 < m.score(X, y) <= 1


def test_constant_feature_and_float32():
    X, y = _linear_problem(n=200, d=3)
    X = np.hstack([X, np.full((200, 1), 5.0)])
    pred = MultilinearRegressor(order=1, n_epochs=50, device="cpu").fit(X, y).predict(X)
    assert pred.dtype == np.float64 and np.isfinite(pred).all()


def test_bad_input_is_explained():
    X, y = _linear_problem(n=50, d=3)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        MultilinearRegressor(order=0).fit(X, y)
    with pytest.raises(ValueError, match="dtype must be"):
        MultilinearRegressor(dtype="float16").fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        MultilinearRegressor(batch_size=0).fit(X, y)
    with pytest.raises(NotFittedError):
        MultilinearRegressor().predict(X)
    m = MultilinearRegressor(n_epochs=2, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        MultilinearRegressor().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="alphas"):
        make_ridge(alphas=[-1.0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    X, y = _planted(2, n=500)
    kw = dict(order=2, n_terms=4, n_epochs=20, batch_size=None, dtype="float64")
    cpu = MultilinearRegressor(device="cpu", **kw).fit(X, y).predict(X)
    gpu = MultilinearRegressor(device="cuda", **kw).fit(X, y).predict(X)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-8)


def test_metrics():
    m = errors([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 5.0])
    assert m == pytest.approx({"mae": 0.5, "rmse": 1.0, "max": 2.0, "r2": 1 - 4 / 5})
    assert errors([1.0, 2.0], [1.001, 2.0], scale=1000)["max"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same length"):
        errors([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        errors([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="empty"):
        errors([], [])
    rows = errors_by([1.0, 2.0, 3.0, 4.0], [1.001, 2.0, 3.0, 4.003], ["b", "b", "a", "a"], scale=1000)
    assert [r["group"] for r in rows] == ["a", "b", "all"] and [r["n"] for r in rows] == [2, 2, 4]
    assert rows[0]["mae"] == pytest.approx(1.5) and rows[1]["mae"] == pytest.approx(0.5)
    assert rows[-1]["rmse"] == pytest.approx(np.sqrt((1 + 9) / 4))
    with pytest.raises(ValueError, match="one value per sample"):
        errors_by([1.0, 2.0], [1.0, 2.0], [0])


def test_kfold_cross_validation():
    X, y = _linear_problem(n=103, d=4, noise=1.0)
    res = cross_val_predictions(Ridge(alpha=1e-3), X, y, n_splits=5, seed=0)
    assert np.bincount(res.fold).tolist() == [21, 21, 21, 20, 20]
    for k in range(5):
        assert res.mae_per_fold[k] == pytest.approx(mae(y[res.fold == k], res.y_pred[res.fold == k]))
    assert 0.5 < res.mae < 1.2  # noise of std 1: MAE of the noise is 0.8
    again = cross_val_predictions(Ridge(alpha=1e-3), X, y, n_splits=5, seed=0)
    np.testing.assert_array_equal(res.y_pred, again.y_pred)
    assert res.errors()["mae"] == pytest.approx(mae(y, res.y_pred))
    assert len(res.errors_per_fold()) == 5 and res.models == []
    with pytest.raises(ValueError, match="n_splits"):
        cross_val_predictions(Ridge(), X, y, n_splits=1)


def test_learning_curve():
    X, y = _planted(2, n=600)
    lc = learning_curve(make_ridge(), X, y, train_sizes=[10, 40, 400], n_splits=3, seed=0)
    assert lc.mae.shape == (3, 3) and lc.train_sizes.tolist() == [10, 40, 400]
    assert lc.mae_mean[0] > lc.mae_mean[-1] and lc.mean("rmse")[0] > lc.mean("rmse")[-1]
    with pytest.raises(ValueError, match="train_sizes"):
        learning_curve(make_ridge(), X, y, train_sizes=[10, 500], n_splits=3)


def test_ridge_init_and_early_stopping():
    X, y = _planted(3, n=600)
    kw = dict(order=3, n_terms=4, n_epochs=40, batch_size=64, lr=1e-2, device="cpu", dtype="float64")
    # init="ridge" with 0 useful epochs is the ridge: the first term is the ridge's linear form
    start = MultilinearRegressor(init="ridge", **{**kw, "lr": 1e-12, "n_epochs": 1}).fit(X, y)
    ridge = make_ridge().fit(X, y)
    np.testing.assert_allclose(start.predict(X), ridge.predict(X), atol=1e-3 * y.std())
    # early stopping keeps the best validation epoch, the initial parameters included (epoch 0)
    m = MultilinearRegressor(init="ridge", validation_fraction=0.2, **kw).fit(X, y)
    assert len(m.validation_loss_curve_) == kw["n_epochs"] + 1
    assert m.best_epoch_ == int(np.argmin(m.validation_loss_curve_))
    assert m.validation_loss_curve_[m.best_epoch_] <= m.validation_loss_curve_[0]
    assert mae(y, m.predict(X)) < 0.5 * mae(y, ridge.predict(X))  # trained beyond the linear start
    with pytest.raises(ValueError, match="init must be"):
        MultilinearRegressor(init="zeros").fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        MultilinearRegressor(validation_fraction=0.7).fit(X, y)


# ----------------------------------------------------------------------------------------------------------------
# folds with groups, within-group folds, grouped ridge, unfolding


def _grouped(n_per=6, seed=0):
    rng = np.random.default_rng(seed)
    within = np.repeat([1.0, 1.5], 5 * n_per)
    groups = np.tile(np.repeat(np.arange(5), n_per), 2)
    X = rng.normal(size=(len(groups), 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    return X, y, groups, within


def test_cv_folds_keep_groups_whole_and_stay_within():
    _, y, groups, within = _grouped()
    logo = list(cv_folds(len(y), None, groups))
    assert len(logo) == 5
    for train, test in logo:
        assert len(set(groups[test])) == 1 and not set(groups[test]) & set(groups[train])
    nested = list(cv_folds(len(y), None, groups, within))
    assert len(nested) == 10
    for train, test in nested:
        assert len(set(within[train]) | set(within[test])) == 1 and len(set(groups[test])) == 1
    gkf = list(cv_folds(len(y), 2, groups, seed=3))
    assert len(gkf) == 2 and all(not set(groups[te]) & set(groups[tr]) for tr, te in gkf)
    assert sorted(np.concatenate([te for _, te in gkf]).tolist()) == list(range(len(y)))
    with pytest.raises(ValueError, match="two groups"):
        list(cv_folds(4, None, [0, 0, 0, 0]))
    with pytest.raises(ValueError, match="one label per sample"):
        list(cv_folds(4, None, [0, 1]))


def test_every_sample_is_predicted_by_a_model_that_never_saw_its_group():
    X, y, groups, within = _grouped()
    X[groups == 2] += 100.0  # a group far away: extrapolated exactly by a linear model only if truly unseen
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    res = cross_val_predictions(LinearRegression(), X, y, n_splits=None, groups=groups, within=within,
                                return_models=True)
    assert not np.isnan(res.y_pred).any() and len(res.models) == 10
    for rows, _ in res.models:
        assert len(set(groups[rows])) == 1 and len(set(within[rows])) == 1
    np.testing.assert_allclose(res.y_pred, y, atol=1e-8)


def test_train_mask_restricts_training_but_every_sample_is_predicted():
    X, y, groups, _ = _grouped()
    mask = np.zeros(len(y), bool)
    mask[::3] = True
    res = cross_val_predictions(LinearRegression(), X, y, n_splits=None, groups=groups, train_mask=mask)
    assert not np.isnan(res.y_pred).any()
    with pytest.raises(ValueError, match="no training sample"):
        cross_val_predictions(LinearRegression(), X, y, groups=groups, train_mask=np.zeros(len(y), bool))


def test_group_ridge_cv_picks_alpha_by_left_out_groups_and_predicts_in_raw_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) * [1, 10, 100, 0.1, 1] + [0, 5, -3, 1, 2]
    y = X @ np.array([1.0, 0.1, 0.01, 10.0, 0.0]) + 2.0 + 0.01 * rng.normal(size=60)
    groups = np.repeat(np.arange(5), 12)
    m = GroupRidgeCV().fit(X, y, groups)
    assert m.alpha_ < 1.0 and len(m.cv_rmse_) == len(ALPHAS)
    np.testing.assert_allclose(m.predict(X), y, atol=0.05)
    coef, intercept = unfold_linear(m)
    np.testing.assert_allclose(X @ coef + intercept, m.predict(X))
    noise = GroupRidgeCV().fit(X, rng.normal(size=60), groups)  # pure noise: a large penalty wins
    assert noise.alpha_ >= 10.0
    assert np.isfinite(GroupRidgeCV().fit(np.column_stack([X, np.ones(60)]), y, groups).coef_).all()
    with pytest.raises(ValueError, match="alphas"):
        GroupRidgeCV(alphas=[-1.0]).fit(X, y, groups)
    with pytest.raises(ValueError, match="one label per sample"):
        GroupRidgeCV().fit(X, y, groups[:10])
    assert make_linear("group_ridge").get_params()["alphas"] is ALPHAS


def test_group_ridge_inside_grouped_folds_gets_the_training_groups():
    X, y, groups, _ = _grouped()
    seen = []

    class Spy(GroupRidgeCV):
        def fit(self, X, y, groups=None):
            seen.append(None if groups is None else set(groups))
            return super().fit(X, y, groups)

    res = cross_val_predictions(Spy(), X, y, n_splits=None, groups=groups)
    np.testing.assert_allclose(res.y_pred, y, atol=1e-3)
    assert all(len(s) == 4 for s in seen)  # each fold's inner CV sees the four training groups


def test_unfold_linear_folds_the_scaler():
    X, y = _linear_problem()
    for kind in ("ridge", "bayes"):
        model = make_linear(kind).fit(X, y)
        coef, intercept = unfold_linear(model)
        np.testing.assert_allclose(X @ coef + intercept, model.predict(X), rtol=1e-10, atol=1e-8)
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    with pytest.raises(TypeError, match="PCA"):
        unfold_linear(make_pipeline(PCA(2), Ridge()).fit(X, y))
    with pytest.raises(ValueError, match="unknown"):
        make_linear("lasso")


def test_split_curve_shapes_and_trend():
    X, y = _linear_problem(n=200, d=6, noise=0.5)
    curve = split_curve(make_linear("bayes"), X, y, (0.05, 0.5), n_repeats=4, seed=0)
    assert curve["rmse"].shape == (2, 4) and curve["fraction"].tolist() == [0.05, 0.5]
    assert curve["rmse"][0].mean() > curve["rmse"][1].mean()
    with pytest.raises(ValueError, match="strictly between"):
        split_curve(make_linear("bayes"), X, y, (0.0, 0.5))


def _sklearn_estimators():
    return [GroupRidgeCV(), MultilinearRegressor(n_epochs=5, device="cpu", dtype="float64")]


@parametrize_with_checks(_sklearn_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
