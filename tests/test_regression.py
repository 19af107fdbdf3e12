"""localbook.regression: ridge with CV, the multilinear regression (thesis sec. 2.3.2), metrics, CV helpers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge

from localbook.regression import (MultilinearRegressor, kfold_cross_validation, learning_curve_mae, mae,
                                  make_ridge, regression_metrics)


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
    m = regression_metrics([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 5.0])
    assert m == pytest.approx({"mae": 0.5, "rmse": 1.0, "max_abs_error": 2.0, "r2": 1 - 4 / 5})
    with pytest.raises(ValueError, match="same length"):
        regression_metrics([1.0, 2.0], [1.0])


def test_kfold_cross_validation():
    X, y = _linear_problem(n=103, d=4, noise=1.0)
    res = kfold_cross_validation(Ridge(alpha=1e-3), X, y, n_splits=5, seed=0)
    assert np.bincount(res.fold).tolist() == [21, 21, 21, 20, 20]
    for k in range(5):
        assert res.mae_per_fold[k] == pytest.approx(mae(y[res.fold == k], res.y_pred[res.fold == k]))
    assert 0.5 < res.mae < 1.2  # noise of std 1: MAE of the noise is 0.8
    again = kfold_cross_validation(Ridge(alpha=1e-3), X, y, n_splits=5, seed=0)
    np.testing.assert_array_equal(res.y_pred, again.y_pred)
    with pytest.raises(ValueError, match="n_splits"):
        kfold_cross_validation(Ridge(), X, y, n_splits=1)


def test_learning_curve():
    X, y = _planted(2, n=600)
    lc = learning_curve_mae(make_ridge(), X, y, train_sizes=[10, 40, 400], n_splits=3, seed=0)
    assert lc.mae.shape == (3, 3) and lc.train_sizes.tolist() == [10, 40, 400]
    assert lc.mae_mean[0] > lc.mae_mean[-1]
    with pytest.raises(ValueError, match="train_sizes"):
        learning_curve_mae(make_ridge(), X, y, train_sizes=[10, 500], n_splits=3)


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


class _CountingDescriptor:
    """A tiny transformer over ase.Atoms (number of atoms, mean Z) that counts its fits."""

    calls = 0

    def __init__(self, power=1.0, device="cpu"):
        self.power = power
        self.device = device

    def get_params(self, deep=True):
        return {"power": self.power, "device": self.device}

    def set_params(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)
        return self

    def fit_transform(self, atoms):
        type(self).calls += 1
        return np.array([[len(a) ** self.power, a.numbers.mean()] for a in atoms])


def test_cached_descriptors(tmp_path):
    from ase.build import molecule

    from localbook.data import ArrayCache
    from localbook.regression import cached_descriptors

    cache = ArrayCache(tmp_path)
    mols = [molecule("H2O"), molecule("CH4")]
    X, cost = cached_descriptors(_CountingDescriptor(), mols, "test", cache=cache)
    np.testing.assert_allclose(X, [[3, 10 / 3], [5, 10 / 5]])
    assert cost >= 0 and _CountingDescriptor.calls == 1
    X2, cost2 = cached_descriptors(_CountingDescriptor(device="cuda"), mols, "test", cache=cache)  # device: same key
    np.testing.assert_array_equal(X, X2)
    assert cost2 == cost and _CountingDescriptor.calls == 1
    cached_descriptors(_CountingDescriptor(power=2.0), mols, "test", cache=cache)  # a parameter changed
    moved = [m.copy() for m in mols]
    moved[0].positions[0, 0] += 0.1
    cached_descriptors(_CountingDescriptor(), moved, "test", cache=cache)  # a structure changed
    assert _CountingDescriptor.calls == 3
