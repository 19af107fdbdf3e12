"""The regression protocol of thesis ch. 2.6 on the carbon database: folds, per-density errors, scale analysis.

* Folds: the independent MD runs. For each density, the model is trained on four runs and tested on the fifth,
  five times (thesis ch. 2.6.1: "The five cross-validation folds are the five uncorrelated runs"); every
  structure is thus predicted by a model that never saw its trajectory. ``per_density=False`` trains one model
  on all densities per fold instead.
* Errors: MAE and RMSE in meV per cell, per density and overall.
* Scale analysis (thesis fig. 2.4): with the fitted linear coefficients of each fold, predict using only the
  scattering coefficients whose scales ``2^j sigma_w`` are below a length, and report the error against it.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
from sklearn.base import clone

__all__ = ["cv_predictions", "errors_by_density", "linear_coefficients", "truncated_scale_errors"]


def _folds(density: np.ndarray, run: np.ndarray, per_density: bool):
    groups = np.unique(density) if per_density else [None]
    for d in groups:
        rows = np.arange(len(run)) if d is None else np.flatnonzero(density == d)
        for r in np.unique(run[rows]):
            yield rows[run[rows] != r], rows[run[rows] == r]


def cv_predictions(model, X, y, density, run, per_density: bool = True, return_models: bool = False):
    """Out-of-fold predictions (same units as ``y``) of ``clone(model)`` with runs as folds (see module doc).

    ``X`` may be an array (rows indexed) or a list of structures. Returns ``y_pred`` (and the list of
    ``(test_rows, fitted_model)`` when ``return_models``).
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
