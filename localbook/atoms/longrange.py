"""The regression protocol of thesis ch. 2.6 on the carbon database: folds, per-density errors, scale analysis.

* Folds: the independent MD runs. For each density, the model is trained on four runs and tested on the fifth,
  five times (thesis ch. 2.6.1: "The five cross-validation folds are the five uncorrelated runs"); every
  structure is thus predicted by a model that never saw its trajectory. ``per_density=False`` trains one model
  on all densities per fold instead.
* Errors: MAE and RMSE in meV per cell, per density and overall.
* Scale analysis (thesis fig. 2.4): with the fitted linear coefficients of each fold, predict using only the
  scattering coefficients whose scales ``2^j sigma_w`` are below a length, and report the error against it.
* Ridge regression with its ``alpha`` chosen by an inner leave-one-run-out cross-validation
  (:class:`localbook.regression.GroupRidgeCV`; sklearn's ``RidgeCV`` leaves out one *snapshot*, whose neighbours
  in the same MD run are nearly copies of it, and so picks too small an ``alpha``).
* A guard (:func:`check_wavelets_fit_cells`): a wavelet wider than half the smallest periodic cell wraps onto
  itself, and its coefficients then differ between cell sizes for no physical reason.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from localbook.regression import ALPHAS, GroupRidgeCV, cross_val_predictions, errors_by, unfold_linear
from localbook.scattering3d.frontend import check_wavelets_fit_cells, coefficient_scales  # noqa: F401 (re-exported)

__all__ = ["cv_predictions", "errors_by_density", "linear_coefficients", "truncated_scale_errors", "GroupRidgeCV",
           "check_wavelets_fit_cells", "coefficient_scales", "ALPHAS", "ResidualStack"]

# The chapter's names for the toolkit's models and unfolding (one implementation, in localbook.regression).
linear_coefficients = unfold_linear


def cv_predictions(model, X, y, density, run, per_density: bool = True, return_models: bool = False,
                   train_mask=None):
    """Out-of-fold predictions (units of ``y``) with the MD runs as folds (see the module docstring):
    :func:`localbook.regression.cross_val_predictions` with ``groups=run`` (one fold per run) and, when
    ``per_density``, ``within=density``. Returns ``y_pred`` (and ``[(test_rows, fitted_model), ...]`` when
    ``return_models``)."""
    density, run = np.asarray(density), np.asarray(run)
    if not (len(y) == len(density) == len(run) == len(X)):
        raise ValueError("X, y, density and run must have the same length")
    res = cross_val_predictions(model, X, y, n_splits=None, groups=run, within=density if per_density else None,
                                train_mask=train_mask, return_models=return_models)
    return (res.y_pred, res.models) if return_models else res.y_pred


def errors_by_density(y_true, y_pred, density, scale: float = 1000.0) -> list[tuple[float, float, float, int]]:
    """Rows ``(density, MAE, RMSE, n)`` per density then ``(nan, MAE, RMSE, n)`` overall; errors times
    ``scale`` (eV -> meV by default)."""
    return [(np.nan if r["group"] == "all" else float(r["group"]), r["mae"], r["rmse"], r["n"])
            for r in errors_by(y_true, y_pred, density, scale)]


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
            coef, intercept = unfold_linear(model)
            pred[rows] = X[rows][:, keep] @ coef[keep] + intercept
        out.append(1000 * np.sqrt(np.mean((pred - y) ** 2)))
    return np.array(out)


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
