"""Chapter 02's results: every model of table 2.1 cross-validated on the same folds, the table, the learning
curves, the thesis' points beside them and power-law guesses at the thesis' size (thesis ch. 2.3.3).

The thesis' numbers are test MAEs (kcal/mol) with 107,108 training molecules per fold (5 folds).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from localbook.atoms.qm9_baselines import RegressionModel
from localbook.regression import CVResult, LearningCurve, cross_val_predictions, learning_curve

__all__ = ["THESIS_MAE_KCAL_MOL", "THESIS_N_TRAIN", "cross_validate_models", "learning_curves_of", "results_rows",
           "beats_baselines", "curve_errors", "thesis_points", "power_law_guesses"]

#: Table 2.1 of the thesis: test MAE (kcal/mol), 5 folds of 107,108 training molecules.
THESIS_MAE_KCAL_MOL = {"Scatt. linear": 1.89, "Scatt. trilinear": 0.56, "CM KRR": 2.95, "BoB KRR": 1.53,
                       "HDAD KRR": 0.58, "SOAP KRR": 0.53}
THESIS_N_TRAIN = 107_108


def cross_validate_models(models: Sequence[RegressionModel], y, n_splits: int = 5, seed: int = 0,
                          return_models: bool = False) -> dict[str, CVResult]:
    """Out-of-fold predictions of every model on the same seeded folds (``{name: CVResult}``)."""
    return {m.name: cross_val_predictions(m.estimator, m.X, y, n_splits=n_splits, seed=seed,
                                          return_models=return_models) for m in models}


def learning_curves_of(models: Sequence[RegressionModel], y, train_sizes: Sequence[int], n_splits: int = 5,
                       seed: int = 0) -> dict[str, LearningCurve]:
    """Test errors against the number of training molecules for every model, on the same folds and the same
    nested training sets (``{name: LearningCurve}``)."""
    return {m.name: learning_curve(m.estimator, m.X, y, train_sizes, n_splits=n_splits, seed=seed) for m in models}


def results_rows(models: Sequence[RegressionModel], results: dict[str, CVResult]) -> list[tuple]:
    """Rows ``(model, thesis MAE, MAE, std over folds, RMSE, cost ms/molecule)`` for a printed table (the cost of
    the representation; "in the fit" for models that featurise inside their pipeline)."""
    rows = []
    for m in models:
        r = results[m.name]
        cost = "in the fit" if m.seconds_per_molecule is None else f"{m.seconds_per_molecule * 1e3:.3g}"
        rows.append((m.name, m.thesis_mae, f"{r.mae:.3g}", f"{r.mae_std:.2g}", f"{r.errors()['rmse']:.3g}", cost))
    return rows


def beats_baselines(results: dict[str, CVResult], model: str, baselines: Sequence[str]) -> str:
    """One line per baseline: whether ``model`` has the lower fold-mean MAE, and in how many folds its test MAE is
    lower (the folds are shared, so fold by fold is a paired comparison). No digits of the errors: a stable check
    of the ranking, which the third digit of an MAE is not across BLAS thread counts."""
    ours = results[model].mae_per_fold
    lines = []
    for name in baselines:
        theirs = results[name].mae_per_fold
        if len(theirs) != len(ours):
            raise ValueError(f"{model!r} and {name!r} were not cross-validated on the same folds "
                             f"({len(ours)} and {len(theirs)} folds): use cross_validate_models")
        verdict = "below" if results[model].mae < results[name].mae else "NOT below"
        lines.append(f"{model} {verdict} {name} (fold-mean MAE); lower in {int(np.sum(ours < theirs))} of "
                     f"{len(ours)} folds")
    return "\n".join(lines)


def curve_errors(curves: dict[str, LearningCurve]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(train_sizes, {name: MAE (n_sizes, n_folds)})`` of learning curves measured on the same sizes: the input
    of ``webfigures.learning_curve_figure`` and ``widgets.learning_curve_explorer``."""
    sizes = [tuple(lc.train_sizes) for lc in curves.values()]
    if not sizes or len(set(sizes)) != 1:
        raise ValueError("curve_errors needs learning curves measured on the same training sizes "
                         "(learning_curves_of computes them so)")
    return np.asarray(sizes[0]), {name: lc.mae for name, lc in curves.items()}


def thesis_points(names: Sequence[str] | None = None, n_thesis: int = THESIS_N_TRAIN) -> dict[str, tuple]:
    """The thesis' table 2.1 as reference points ``{"thesis: name": ([n_thesis], [MAE])}`` (kcal/mol) for
    ``webfigures.learning_curve_figure``; ``names``: a subset of :data:`THESIS_MAE_KCAL_MOL` (default: all)."""
    names = list(THESIS_MAE_KCAL_MOL) if names is None else list(names)
    return {f"thesis: {name}": ([n_thesis], [THESIS_MAE_KCAL_MOL[name]]) for name in names}


def power_law_guesses(curves: dict[str, LearningCurve], names: Sequence[str],
                      n: int = THESIS_N_TRAIN) -> dict[str, tuple[float, float]]:
    """``{name: (slope, MAE at n)}`` of the power law ``MAE = a n^slope`` fitted (least squares in log-log) to the
    fold-mean learning curve of each name: a straight line carried over decades, a guess rather than a
    measurement."""
    from localbook.curse import fit_power_law

    out = {}
    for name in names:
        lc = curves[name]
        slope, intercept = fit_power_law(lc.train_sizes, lc.mae_mean)
        out[name] = (float(slope), float(np.exp(intercept) * n ** slope))
    return out
