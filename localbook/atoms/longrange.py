"""The regression protocol of thesis ch. 2.6 on the carbon database: folds, per-density errors, scale analysis.

* Folds: the independent MD runs. For each density, the model is trained on four runs and tested on the fifth,
  five times (thesis ch. 2.6.1: "The five cross-validation folds are the five uncorrelated runs"); every
  structure is thus predicted by a model that never saw its trajectory. ``per_density=False`` trains one model
  on all densities per fold instead.
* Errors: MAE and RMSE in meV per cell, per density and overall.
* Scale analysis (thesis fig. 2.4): with the fitted linear coefficients of each fold, predict using only the
  scattering coefficients whose scales ``2^j sigma_w`` are below a length, and report the error against it.
* Ridge regression with its ``alpha`` chosen by an inner leave-one-run-out cross-validation
  (:class:`GroupRidgeCV`; sklearn's ``RidgeCV`` leaves out one *snapshot*, whose neighbours in the same MD run
  are nearly copies of it, and so picks too small an ``alpha``).
* A guard (:func:`check_wavelets_fit_cells`): a wavelet wider than half the smallest periodic cell wraps onto
  itself, and its coefficients then differ between cell sizes for no physical reason.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from localbook.scattering3d import check_wavelets_fit_cells, coefficient_scales  # noqa: F401 (re-exported)

__all__ = ["cv_predictions", "errors_by_density", "linear_coefficients", "truncated_scale_errors", "GroupRidgeCV",
           "check_wavelets_fit_cells", "coefficient_scales", "ALPHAS", "ResidualStack"]

ALPHAS = np.logspace(-8, 3, 23)
"""The ridge grid of thesis ch. 2.6.1: ``10^-8 ... 10^3``, two values per decade."""


def _folds(density: np.ndarray, run: np.ndarray, per_density: bool):
    groups = np.unique(density) if per_density else [None]
    for d in groups:
        rows = np.arange(len(run)) if d is None else np.flatnonzero(density == d)
        for r in np.unique(run[rows]):
            yield rows[run[rows] != r], rows[run[rows] == r]


def cv_predictions(model, X, y, density, run, per_density: bool = True, return_models: bool = False,
                   train_mask=None):
    """Out-of-fold predictions (same units as ``y``) of ``clone(model)`` with runs as folds (see module doc).

    ``X`` may be an array (rows indexed) or a list of structures. ``train_mask`` (boolean, optional) restricts
    the training rows of every fold (a learning curve); every row is still predicted. Returns ``y_pred``
    (and the list of ``(test_rows, fitted_model)`` when ``return_models``).
    """
    y, density, run = np.asarray(y, dtype=float), np.asarray(density), np.asarray(run)
    if not (len(y) == len(density) == len(run) == len(X)):
        raise ValueError("X, y, density and run must have the same length")
    if len(np.unique(run)) < 2:
        raise ValueError("cross-validation over runs needs at least two runs")
    take = (lambda rows: X[rows]) if isinstance(X, np.ndarray) else (lambda rows: [X[i] for i in rows])
    # estimators that tune a hyper-parameter by inner cross-validation get the runs as groups
    wants_groups = "groups" in inspect.signature(model.fit).parameters
    y_pred = np.full(len(y), np.nan)
    fitted = []
    for train, test in _folds(density, run, per_density):
        if train_mask is not None:
            train = train[np.asarray(train_mask, dtype=bool)[train]]
        kwargs = {"groups": run[train]} if wants_groups else {}
        m = clone(model).fit(take(train), y[train], **kwargs)
        y_pred[test] = m.predict(take(test))
        fitted.append((test, m))
    return (y_pred, fitted) if return_models else y_pred


def errors_by_density(y_true, y_pred, density, scale: float = 1000.0) -> list[tuple[float, float, float, int]]:
    """Rows ``(density, MAE, RMSE, n)`` per density then ``(nan, MAE, RMSE, n)`` overall; errors times
    ``scale`` (eV -> meV by default)."""
    y_true, y_pred, density = map(np.asarray, (y_true, y_pred, density))
    rows = []
    for d in [*np.unique(density), None]:
        m = np.ones(len(y_true), bool) if d is None else density == d
        e = (y_pred[m] - y_true[m]) * scale
        rows.append((np.nan if d is None else float(d), float(np.abs(e).mean()), float(np.sqrt((e**2).mean())),
                     int(m.sum())))
    return rows


def linear_coefficients(pipeline) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` of a fitted ``[StandardScaler,] linear model`` pipeline, in raw feature units."""
    steps = getattr(pipeline, "steps", [(None, pipeline)])
    coef, intercept = np.asarray(steps[-1][1].coef_, dtype=float), float(steps[-1][1].intercept_)
    for _, step in reversed(steps[:-1]):
        if not hasattr(step, "scale_"):
            raise TypeError(f"cannot fold a {type(step).__name__} into linear coefficients")
        mean = step.mean_ if getattr(step, "with_mean", True) and step.mean_ is not None else 0.0
        scale = step.scale_ if step.scale_ is not None else 1.0
        coef = coef / scale
        intercept -= float(np.sum(coef * mean))
    return coef, intercept


def truncated_scale_errors(X: np.ndarray, y, fitted: Sequence, scales: np.ndarray, lengths: Sequence[float],
                           scale_of_length: Callable[[float], float] | None = None) -> np.ndarray:
    """RMSE (units of ``y`` x 1000) of predictions that keep only columns with ``scales <= L`` for each L.

    ``fitted`` is the ``(test_rows, model)`` list from :func:`cv_predictions`; ``scales`` gives each column's
    largest length (``nan`` for columns without a scale, such as order 0, which are always kept).
    """
    y = np.asarray(y, dtype=float)
    out = []
    for length in lengths:
        keep = np.isnan(scales) | (scales <= length)
        pred = np.full(len(y), np.nan)
        for rows, model in fitted:
            coef, intercept = linear_coefficients(model)
            pred[rows] = X[rows][:, keep] @ coef[keep] + intercept
        out.append(1000 * np.sqrt(np.mean((pred - y) ** 2)))
    return np.array(out)


class GroupRidgeCV(RegressorMixin, BaseEstimator):
    """Ridge regression on standardised features, ``alpha`` chosen by leave-one-group-out cross-validation.

    ``fit(X, y, groups)``: ``X`` ``(n, p)``, ``y`` ``(n,)``; the features are standardised with the training
    mean and standard deviation (constant columns are left unscaled) and ``y`` centred; for each ``alpha`` of
    ``alphas`` (sklearn's convention: penalty ``alpha |w|^2`` on the standardised weights, not divided by ``n``)
    the inner error is the RMSE over all held-out groups, computed from one SVD per inner fold. Without
    ``groups`` (or with one group) the inner folds are 5 contiguous blocks. Attributes: ``alpha_``,
    ``cv_rmse_`` (one per alpha), ``coef_`` and ``intercept_`` in raw feature units (so that
    ``X @ coef_ + intercept_`` predicts and :func:`linear_coefficients` reads them directly).
    Hand-written rather than ``GridSearchCV(Ridge)`` because the SVD makes the 23-value grid one solve per fold.
    """

    def __init__(self, alphas=ALPHAS):
        self.alphas = alphas

    @staticmethod
    def _svd_fit(X, y):
        mean, std = X.mean(0), X.std(0)
        std = np.where(std > 1e-12 * np.abs(mean).clip(1e-300), std, 1.0)
        xs = (X - mean) / std
        u, sv, vt = np.linalg.svd(xs, full_matrices=False)
        return mean, std, y.mean(), u, sv, vt

    def _weights(self, fit, y, alpha):
        mean, std, y_mean, u, sv, vt = fit
        w = vt.T @ ((sv / (sv**2 + alpha)) * (u.T @ (y - y_mean)))
        coef = w / std
        return coef, y_mean - mean @ coef

    def fit(self, X, y, groups=None):
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"X must be (n, p) and y (n,), got {X.shape} and {y.shape}")
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=float))
        if (alphas < 0).any():
            raise ValueError("alphas must be >= 0")
        groups = np.arange(len(y)) * 5 // len(y) if groups is None or len(np.unique(groups)) < 2 \
            else np.asarray(groups)
        sq = np.zeros(len(alphas))
        for g in np.unique(groups):
            test = groups == g
            fit = self._svd_fit(X[~test], y[~test])
            for k, alpha in enumerate(alphas):
                coef, intercept = self._weights(fit, y[~test], alpha)
                sq[k] += ((X[test] @ coef + intercept - y[test]) ** 2).sum()
        self.cv_rmse_ = np.sqrt(sq / len(y))
        self.alpha_ = float(alphas[int(np.argmin(self.cv_rmse_))])
        self.coef_, self.intercept_ = self._weights(self._svd_fit(X, y), y, self.alpha_)
        self.intercept_ = float(self.intercept_)
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_


class ResidualStack(RegressorMixin, BaseEstimator):
    """Two models in sequence, both fitted inside each cross-validation fold: ``first`` on the target, then
    ``second`` on what ``first`` leaves *on the same training rows* (thesis ch. 2.5.2: "The first term is fitted
    alone ... Then the remaining energy is fitted using the two ... SOAP kernels").

    ``X`` is an integer array of row indices; ``first_input(rows)`` and ``second_input(rows)`` return each
    model's input for those rows (e.g. pair features, and a list of structures), so that the two models can take
    different representations of the same cells. ``groups`` are passed on to models whose ``fit`` takes them.
    Fitting the second model on *out-of-fold* residuals of the first instead would mix residuals of five
    different first models, and is not what a single model trained on four runs would see.
    """

    def __init__(self, first, second, first_input: Callable, second_input: Callable):
        self.first = first
        self.second = second
        self.first_input = first_input
        self.second_input = second_input

    @staticmethod
    def _fit(model, X, y, groups):
        wants = groups is not None and "groups" in inspect.signature(model.fit).parameters
        return model.fit(X, y, groups=groups) if wants else model.fit(X, y)

    def fit(self, X, y, groups=None):
        rows = np.asarray(X).astype(int).ravel()
        y = np.asarray(y, dtype=float)
        self.first_ = self._fit(clone(self.first), self.first_input(rows), y, groups)
        residual = y - self.first_.predict(self.first_input(rows))
        self.second_ = self._fit(clone(self.second), self.second_input(rows), residual, groups)
        return self

    def predict(self, X):
        rows = np.asarray(X).astype(int).ravel()
        return self.first_.predict(self.first_input(rows)) + self.second_.predict(self.second_input(rows))
