"""Regression of targets (energies, entropies) from descriptors — the one toolkit of the book.

* :mod:`~localbook.regression.linear`: :data:`ALPHAS` (the one ridge grid), :func:`make_linear` (ridge,
  Bayesian ridge, grouped ridge on standardised features), :class:`GroupRidgeCV`, :func:`unfold_linear`.
* :mod:`~localbook.regression.multilinear`: :class:`MultilinearRegressor` (thesis sec. 2.3.2, torch).
* :mod:`~localbook.regression.crossval`: :func:`cv_folds`, :func:`cross_val_predictions`,
  :func:`learning_curve`, :func:`split_curve`.
* :mod:`~localbook.regression.metrics`: :func:`errors` (MAE, RMSE, max, R²), :func:`errors_by`.

Descriptors computed once and cached on disk: :func:`localbook.data.cache.cached_transform`.
"""
from localbook.regression.crossval import (CVResult, LearningCurve, cross_val_predictions, cv_folds, learning_curve,
                                           split_curve)
from localbook.regression.linear import ALPHAS, LINEAR_KINDS, GroupRidgeCV, make_linear, unfold_linear
from localbook.regression.metrics import ERROR_NAMES, errors, errors_by
from localbook.regression.multilinear import MultilinearRegressor

__all__ = ["ALPHAS", "LINEAR_KINDS", "make_linear", "GroupRidgeCV", "unfold_linear", "MultilinearRegressor",
           "cv_folds", "CVResult", "cross_val_predictions", "LearningCurve", "learning_curve", "split_curve",
           "ERROR_NAMES", "errors", "errors_by"]
