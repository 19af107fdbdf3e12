"""Linear models on descriptors: ridge and Bayesian ridge on standardised features, one penalty grid.

* :data:`ALPHAS`: the one ridge grid of the book, ``10^-8 ... 10^6``, two values per decade (it contains the
  thesis' carbon grid ``10^-8 ... 10^3``, ch. 2.6.1).
* :func:`make_linear`: ``StandardScaler`` followed by ``RidgeCV`` (penalty by leave-one-out, scikit-learn),
  ``BayesianRidge`` (the thesis' model for entropies, ch. 3, default priors), or :class:`GroupRidgeCV`.
* :class:`GroupRidgeCV`: ridge whose penalty is chosen by leaving out whole *groups* (MD runs, defects): when
  samples come in near-copies (snapshots of one trajectory, strained copies of one defect), leave-one-out keeps a
  near-copy of each test sample in training and picks too small a penalty.
* :func:`unfold_linear`: the coefficients of a fitted ``[scaler,] linear`` model in raw feature units, so that
  ``X @ coef + intercept`` predicts (for local contributions, scale truncation, reading weights).
"""
from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import BayesianRidge, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ALPHAS", "LINEAR_KINDS", "make_linear", "GroupRidgeCV", "unfold_linear"]

ALPHAS = tuple(np.logspace(-8, 6, 29).tolist())
"""The ridge penalties tried by every linear model of the book: ``10^-8 ... 10^6``, two per decade (a tuple, so
that it is an immutable, printable default parameter as scikit-learn expects)."""

LINEAR_KINDS = ("ridge", "bayes", "group_ridge")


def _check_alphas(alphas) -> np.ndarray:
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    if alphas.ndim != 1 or len(alphas) == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(f"alphas must be a non-empty 1-d sequence of finite numbers >= 0, got {alphas!r}")
    return alphas


def make_linear(kind: str = "ridge", alphas=ALPHAS, cv: int | None = None):
    """A linear model on standardised descriptors.

    ``kind``: ``"ridge"`` — ``StandardScaler -> RidgeCV(alphas, cv)`` (``cv=None``: scikit-learn's efficient
    leave-one-out; an integer: k-fold); ``"bayes"`` — ``StandardScaler -> BayesianRidge()`` with scikit-learn's
    default priors (the thesis' choice for entropies, ch. 3.3); ``"group_ridge"`` — :class:`GroupRidgeCV`
    (standardises internally; pass ``groups`` to ``fit``). After ``fit``, ``unfold_linear(model)`` gives the
    weights in raw feature units. CPU (scikit-learn).
    """
    _check_alphas(alphas)
    if kind == "ridge":
        return Pipeline([("scale", StandardScaler()), ("ridge", RidgeCV(alphas=alphas, cv=cv))])
    if kind == "bayes":
        return Pipeline([("scale", StandardScaler()), ("bayes", BayesianRidge())])
    if kind == "group_ridge":
        return GroupRidgeCV(alphas=alphas)
    raise ValueError(f"linear model kind {kind!r} is unknown: use one of {', '.join(map(repr, LINEAR_KINDS))}")


class GroupRidgeCV(RegressorMixin, BaseEstimator):
    """Ridge regression on standardised features, ``alpha`` chosen by leave-one-group-out cross-validation.

    ``fit(X, y, groups=None)``: ``X`` ``(n, p)``, ``y`` ``(n,)``; features are standardised with the training
    mean and standard deviation (constant columns are left unscaled) and ``y`` centred. For each ``alpha`` of
    ``alphas`` (scikit-learn's convention: penalty ``alpha |w|^2`` on the standardised weights, not divided by
    ``n``) the inner error is the RMSE over all held-out groups, computed from one SVD per inner fold. Without
    ``groups`` (or with a single group) the inner folds are 5 contiguous blocks.

    Learned: ``alpha_``, ``cv_rmse_`` (one per alpha), ``coef_`` and ``intercept_`` in raw feature units
    (``X @ coef_ + intercept_`` predicts), ``n_features_in_``. Written by hand rather than
    ``GridSearchCV(Ridge)`` because one SVD per fold makes the whole grid one solve.
    """

    _parameter_constraints = {"alphas": ["array-like", Interval(Real, 0, None, closed="left")]}

    def __init__(self, alphas=ALPHAS):
        self.alphas = alphas

    @staticmethod
    def _svd_fit(X, y):
        mean, std = X.mean(0), X.std(0)
        std = np.where(std > 1e-12 * np.abs(mean).clip(1e-300), std, 1.0)
        u, sv, vt = np.linalg.svd((X - mean) / std, full_matrices=False)
        return mean, std, y.mean(), u, sv, vt

    @staticmethod
    def _weights(fit, y, alpha):
        mean, std, y_mean, u, sv, vt = fit
        w = vt.T @ ((sv / (sv**2 + alpha)) * (u.T @ (y - y_mean)))
        coef = w / std
        return coef, y_mean - mean @ coef

    def fit(self, X, y, groups=None):
        """Fit on ``X`` ``(n, p)`` and ``y`` ``(n,)``; ``groups`` ``(n,)`` labels the samples that are left out
        together in the inner cross-validation. Returns ``self``."""
        self._validate_params()
        alphas = _check_alphas(self.alphas)
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, reset=True)
        if len(y) < 2:
            raise ValueError(f"GroupRidgeCV needs at least 2 samples, got n_samples = {len(y)}")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(y),):
                raise ValueError(f"groups must have one label per sample ({len(y)}), got shape {groups.shape}")
        if groups is None or len(np.unique(groups)) < 2:
            groups = np.arange(len(y)) * 5 // len(y)
        sq = np.zeros(len(alphas))
        for g in np.unique(groups):
            test = groups == g
            fit = self._svd_fit(X[~test], y[~test])
            for k, alpha in enumerate(alphas):
                coef, intercept = self._weights(fit, y[~test], alpha)
                sq[k] += ((X[test] @ coef + intercept - y[test]) ** 2).sum()
        self.cv_rmse_ = np.sqrt(sq / len(y))
        self.alpha_ = float(alphas[int(np.argmin(self.cv_rmse_))])
        coef, intercept = self._weights(self._svd_fit(X, y), y, self.alpha_)
        self.coef_, self.intercept_ = coef, float(intercept)
        return self

    def predict(self, X):
        """Predictions ``(n,)`` in the units of the training target."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


def unfold_linear(model) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` of a fitted linear model in raw feature units: ``X @ coef + intercept`` predicts.

    ``model`` is a fitted estimator with ``coef_`` / ``intercept_`` (e.g. :class:`GroupRidgeCV`), or a
    ``Pipeline`` of standard scalers followed by one (as :func:`make_linear` builds): the scalers' means and
    scales are folded into the weights. Any other step raises ``TypeError``.
    """
    steps = getattr(model, "steps", [(None, model)])
    last = steps[-1][1]
    check_is_fitted(last, "coef_")
    coef, intercept = np.asarray(last.coef_, dtype=float).ravel(), float(np.ravel(last.intercept_)[0])
    for _, step in reversed(steps[:-1]):
        if not hasattr(step, "scale_"):
            raise TypeError(f"cannot fold a {type(step).__name__} into linear coefficients: only scalers "
                            "(StandardScaler) may precede the linear model")
        mean = step.mean_ if getattr(step, "with_mean", True) and step.mean_ is not None else 0.0
        scale = step.scale_ if step.scale_ is not None else 1.0
        coef = coef / scale
        intercept -= float(np.sum(coef * mean))
    return coef, intercept
