"""Errors of a regression, in the units of the target: one function for a set of predictions, one per group.

* :func:`errors`: ``{"mae", "rmse", "max", "r2"}`` of predictions against the truth.
* :func:`errors_by`: the same per value of a grouping array (a density, a defect kind, a molecule size), then
  pooled over everything (the ``"all"`` row).

Units are the target's (kcal/mol for QM9, eV or meV for carbon, k_B for entropies); ``scale`` multiplies every
error, e.g. ``scale=1000`` to report eV targets in meV.
"""
from __future__ import annotations

import numpy as np

__all__ = ["errors", "errors_by", "ERROR_NAMES"]

ERROR_NAMES = ("mae", "rmse", "max", "r2")
"""The keys of :func:`errors`: mean absolute error, root-mean-square error, largest absolute error, R²."""


def _check(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must be 1-d of the same length, got shapes {y_true.shape} and "
                         f"{y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("errors of an empty set of predictions are undefined: pass at least one sample")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        bad = int(np.sum(~np.isfinite(y_true)) + np.sum(~np.isfinite(y_pred)))
        raise ValueError(f"{bad} non-finite value(s) among y_true / y_pred: errors would be meaningless; "
                         "find where the NaN or inf comes from (an unfitted fold, a diverged model)")
    return y_true, y_pred


def errors(y_true, y_pred, scale: float = 1.0) -> dict[str, float]:
    """``{"mae", "rmse", "max", "r2"}`` of ``y_pred`` against ``y_true`` (1-d, same length).

    The three errors are in the units of ``y`` times ``scale``; ``r2`` is the coefficient of determination
    (1 is perfect, 0 is the mean's error; ``nan`` when ``y_true`` is constant).
    """
    y_true, y_pred = _check(y_true, y_pred)
    d = (y_pred - y_true) * scale
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y_pred - y_true) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    return {"mae": float(np.mean(np.abs(d))), "rmse": float(np.sqrt(np.mean(d**2))),
            "max": float(np.max(np.abs(d))), "r2": r2}


def errors_by(y_true, y_pred, groups, scale: float = 1.0) -> list[dict]:
    """:func:`errors` per value of ``groups`` (sorted), then over all samples.

    Returns a list of dicts ``{"group", "n", "mae", "rmse", "max", "r2"}``; the last row has
    ``group == "all"``.
    """
    y_true, y_pred = _check(y_true, y_pred)
    groups = np.asarray(groups)
    if groups.shape != y_true.shape:
        raise ValueError(f"groups must have one value per sample ({len(y_true)}), got shape {groups.shape}")
    rows = []
    for g in np.unique(groups):
        m = groups == g
        rows.append({"group": g.item() if hasattr(g, "item") else g, "n": int(m.sum()),
                     **errors(y_true[m], y_pred[m], scale)})
    rows.append({"group": "all", "n": len(y_true), **errors(y_true, y_pred, scale)})
    return rows
