"""Cross-validation of any estimator, one way for the whole book: out-of-fold predictions, learning curves and
split curves.

* :func:`cv_folds`: the ``(train_rows, test_rows)`` pairs of a protocol — seeded k-fold; whole groups as test
  folds (MD runs, defects: near-copies never straddle a split); optionally made separately inside each value of
  ``within`` (one model per density, thesis ch. 2.6.1).
* :func:`cross_val_predictions`: each sample predicted once, by a model that never saw it (or its group).
* :func:`learning_curve`: test errors against the number of training samples, nested training sets per fold.
* :func:`split_curve`: test errors against the training fraction over random splits (thesis fig. 3.5a).

Estimators are scikit-learn ones, cloned for every fit; an estimator whose ``fit`` takes ``groups`` (e.g.
:class:`~localbook.regression.linear.GroupRidgeCV`) receives the groups of its training rows. ``X`` is an array
(rows are taken) or a list (e.g. of ``ase.Atoms``, for estimators that featurise structures themselves).
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit

from localbook.regression.metrics import errors, errors_by

__all__ = ["cv_folds", "CVResult", "cross_val_predictions", "LearningCurve", "learning_curve", "split_curve"]


def _take(X, rows: np.ndarray):
    return X[rows] if isinstance(X, np.ndarray) else [X[i] for i in rows]


def _fit(estimator, X, y, groups):
    model = clone(estimator)
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def cv_folds(n_samples: int, n_splits: int | None = 5, groups=None, within=None,
             seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ``(train_rows, test_rows)`` of a cross-validation protocol over ``n_samples`` rows.

    * no ``groups``: ``KFold(n_splits, shuffle=True, random_state=seed)``;
    * ``groups`` (one label per row): whole groups are left out together — one fold per group (leave one group
      out) when ``n_splits`` is ``None`` or at least the number of groups, else ``GroupKFold(n_splits)``
      (shuffled, seeded);
    * ``within`` (one label per row): the folds above are made separately inside each value of ``within`` (in
      sorted order), and a fold trains only on rows of the same value.
    """
    if within is not None:
        within = np.asarray(within)
        if within.shape != (n_samples,):
            raise ValueError(f"within must have one label per sample ({n_samples}), got shape {within.shape}")
        for w in np.unique(within):
            rows = np.flatnonzero(within == w)
            sub = None if groups is None else np.asarray(groups)[rows]
            for tr, te in cv_folds(len(rows), n_splits, sub, None, seed):
                yield rows[tr], rows[te]
        return
    idx = np.arange(n_samples)
    if groups is None:
        if n_splits is None or not 2 <= n_splits <= n_samples:
            raise ValueError(f"n_splits must be an integer between 2 and the number of samples ({n_samples}), "
                             f"got {n_splits}")
        yield from KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(idx)
        return
    groups = np.asarray(groups)
    if groups.shape != (n_samples,):
        raise ValueError(f"groups must have one label per sample ({n_samples}), got shape {groups.shape}")
    labels = np.unique(groups)
    if len(labels) < 2:
        raise ValueError(f"cross-validation over groups needs at least two groups, got {len(labels)}")
    if n_splits is None or n_splits >= len(labels):
        for g in labels:
            yield idx[groups != g], idx[groups == g]
    else:
        if n_splits < 2:
            raise ValueError(f"n_splits must be >= 2 (or None: one fold per group), got {n_splits}")
        yield from GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(idx, groups=groups)


@dataclass
class CVResult:
    """Out-of-fold predictions of :func:`cross_val_predictions`.

    ``y_true``, ``y_pred`` ``(n,)``; ``fold`` ``(n,)``: the fold in which each sample was tested; ``fit_seconds``
    ``(k,)``; ``models``: ``[(test_rows, fitted_model), ...]`` when asked for (else empty).
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    fold: np.ndarray
    fit_seconds: np.ndarray
    models: list = field(default_factory=list)

    def errors(self, scale: float = 1.0) -> dict[str, float]:
        """Errors pooled over every sample (:func:`~localbook.regression.metrics.errors`)."""
        return errors(self.y_true, self.y_pred, scale)

    def errors_by(self, groups, scale: float = 1.0) -> list[dict]:
        """Errors per value of ``groups``, then pooled (:func:`~localbook.regression.metrics.errors_by`)."""
        return errors_by(self.y_true, self.y_pred, groups, scale)

    def errors_per_fold(self, scale: float = 1.0) -> list[dict[str, float]]:
        """Errors of each fold's test set, in fold order."""
        return [errors(self.y_true[self.fold == k], self.y_pred[self.fold == k], scale)
                for k in range(len(self.fit_seconds))]

    @property
    def mae_per_fold(self) -> np.ndarray:
        """``(k,)`` test MAE of each fold."""
        return np.array([e["mae"] for e in self.errors_per_fold()])

    @property
    def mae(self) -> float:
        """Mean over folds of the test MAE (the thesis' QM9 protocol)."""
        return float(self.mae_per_fold.mean())

    @property
    def mae_std(self) -> float:
        """Standard deviation over folds of the test MAE."""
        return float(self.mae_per_fold.std())


def cross_val_predictions(estimator, X, y, *, n_splits: int | None = 5, groups=None, within=None, seed: int = 0,
                          train_mask=None, return_models: bool = False, progress: bool = False) -> CVResult:
    """Each sample of ``y`` predicted once, by a clone of ``estimator`` trained on the other folds.

    The folds are those of :func:`cv_folds` (``n_splits``, ``groups``, ``within``, ``seed``). ``train_mask``
    (boolean, one per sample) restricts the training rows of every fold, e.g. for a learning curve; every sample is
    still predicted. Thesis: QM9, 5 seeded folds (ch. 2.3.3); carbon, the five MD runs of each density as folds
    (ch. 2.6.1); entropies, 5 folds (ch. 3.3).
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-d with one value per row of X ({len(X)}), got shape {y.shape}")
    if train_mask is not None:
        train_mask = np.asarray(train_mask, dtype=bool)
        if train_mask.shape != y.shape:
            raise ValueError(f"train_mask must have one value per sample ({len(y)}), got {train_mask.shape}")
    from tqdm.auto import tqdm

    folds = list(cv_folds(len(y), n_splits, groups, within, seed))
    y_pred = np.full(len(y), np.nan)
    fold = np.full(len(y), -1, dtype=np.int64)
    seconds, models = [], []
    groups_arr = None if groups is None else np.asarray(groups)
    for k, (train, test) in enumerate(tqdm(folds, disable=not progress, desc="folds")):
        if train_mask is not None:
            train = train[train_mask[train]]
            if len(train) == 0:
                raise ValueError(f"train_mask leaves no training sample in fold {k}")
        start = time.perf_counter()
        model = _fit(estimator, _take(X, train), y[train], None if groups_arr is None else groups_arr[train])
        seconds.append(time.perf_counter() - start)
        y_pred[test] = model.predict(_take(X, test))
        fold[test] = k
        if return_models:
            models.append((test, model))
    return CVResult(y_true=y, y_pred=y_pred, fold=fold, fit_seconds=np.array(seconds), models=models)


@dataclass
class LearningCurve:
    """Test errors against training size: ``train_sizes`` ``(s,)``; ``errors[name]`` ``(s, k)`` for each error
    name of :func:`~localbook.regression.metrics.errors`, per size and fold."""

    train_sizes: np.ndarray
    errors: dict[str, np.ndarray]

    def mean(self, name: str = "mae") -> np.ndarray:
        """``(s,)`` mean over folds."""
        return self.errors[name].mean(axis=1)

    def std(self, name: str = "mae") -> np.ndarray:
        """``(s,)`` standard deviation over folds."""
        return self.errors[name].std(axis=1)

    @property
    def mae(self) -> np.ndarray:
        return self.errors["mae"]

    @property
    def mae_mean(self) -> np.ndarray:
        return self.mean("mae")

    @property
    def mae_std(self) -> np.ndarray:
        return self.std("mae")


def learning_curve(estimator, X, y, train_sizes: Sequence[int], *, n_splits: int | None = 5, groups=None,
                   within=None, seed: int = 0, scale: float = 1.0, progress: bool = False) -> LearningCurve:
    """Test errors of ``estimator`` against the number of training samples.

    For each fold of :func:`cv_folds`, the model is trained on the first ``m`` rows of a seeded permutation of the
    fold's training part, for each ``m`` in ``train_sizes`` (nested training sets), and evaluated on the whole
    test fold. Each ``m`` must be between 2 and the size of the smallest training part.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-d with one value per row of X ({len(X)}), got shape {y.shape}")
    sizes = np.asarray(train_sizes, dtype=np.int64)
    folds = list(cv_folds(len(y), n_splits, groups, within, seed))
    max_train = min(len(tr) for tr, _ in folds)
    if sizes.ndim != 1 or len(sizes) == 0 or sizes.min() < 2 or sizes.max() > max_train:
        raise ValueError(f"train_sizes must be integers between 2 and {max_train} (the smallest training part of "
                         f"these {len(folds)} folds of {len(y)} samples), got {sizes.tolist()}")
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    groups_arr = None if groups is None else np.asarray(groups)
    out: dict[str, np.ndarray] = {}
    bar = tqdm(total=len(sizes) * len(folds), disable=not progress, desc="learning curve")
    for k, (train, test) in enumerate(folds):
        order = rng.permutation(train)
        for s, m in enumerate(sizes):
            rows = order[:m]
            model = _fit(estimator, _take(X, rows), y[rows], None if groups_arr is None else groups_arr[rows])
            for name, value in errors(y[test], model.predict(_take(X, test)), scale).items():
                out.setdefault(name, np.empty((len(sizes), len(folds))))[s, k] = value
            bar.update()
    bar.close()
    return LearningCurve(train_sizes=sizes, errors=out)


def split_curve(estimator, X, y, train_fractions: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                n_repeats: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Test errors against the fraction of the data used for training (thesis fig. 3.5a).

    For each fraction, ``n_repeats`` random train/test splits (scikit-learn ``ShuffleSplit``, seeded); returns
    ``{"fraction": (F,), "rmse": (F, n_repeats), "mae": (F, n_repeats)}`` in the units of ``y``.
    """
    y = np.asarray(y, dtype=float)
    fractions = np.asarray(train_fractions, dtype=float)
    if fractions.ndim != 1 or np.any((fractions <= 0) | (fractions >= 1)):
        raise ValueError(f"train_fractions={list(train_fractions)!r}: each must lie strictly between 0 and 1")
    rmse, mae = np.empty((len(fractions), n_repeats)), np.empty((len(fractions), n_repeats))
    for f, frac in enumerate(fractions):
        for r, (tr, te) in enumerate(ShuffleSplit(n_repeats, train_size=float(frac), random_state=seed).split(y)):
            e = errors(y[te], _fit(estimator, _take(X, tr), y[tr], None).predict(_take(X, te)))
            rmse[f, r], mae[f, r] = e["rmse"], e["mae"]
    return {"fraction": fractions, "rmse": rmse, "mae": mae}
