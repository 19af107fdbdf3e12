"""Chapter 02's results: every model of table 2.1 cross-validated on the same folds, the table, and the learning
curves with the thesis' points (thesis ch. 2.3.3).

The thesis' numbers are test MAEs (kcal/mol) with 107,108 training molecules per fold (5 folds).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from localbook.atoms.qm9_baselines import RegressionModel
from localbook.regression import CVResult, LearningCurve, cross_val_predictions, learning_curve

__all__ = ["THESIS_MAE_KCAL_MOL", "THESIS_N_TRAIN", "cross_validate_models", "learning_curves_of", "results_rows",
           "plot_learning_curves"]

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


def plot_learning_curves(ax, curves: dict[str, LearningCurve], extrapolate: Sequence[str] = (),
                         thesis: dict[str, float] | None = None, n_thesis: int = THESIS_N_TRAIN) -> dict[str, float]:
    """Test MAE (mean over folds, error bars: standard deviation over folds) against training size, log-log.

    For each name in ``extrapolate``, the power law fitted to its curve is drawn dashed up to ``n_thesis`` (a
    straight line carried over decades: a guess, not a measurement); the thesis' numbers (default
    :data:`THESIS_MAE_KCAL_MOL`) are drawn as stars at ``n_thesis`` in the colour of the curve of the same name,
    in grey when this run has no such curve. Returns ``{name: MAE extrapolated to n_thesis}``.
    """
    from localbook.local_methods import fit_power_law

    thesis = THESIS_MAE_KCAL_MOL if thesis is None else thesis
    colors = {}
    out = {}
    for name, lc in curves.items():
        n, mean, std = lc.train_sizes, lc.mae_mean, lc.mae_std
        line = ax.errorbar(n, mean, yerr=std, marker="o", ms=4, capsize=2, label=name)
        colors[name] = line[0].get_color()
        if name in extrapolate:
            slope, intercept = fit_power_law(n, mean)
            grid = np.geomspace(n[0], n_thesis, 50)
            ax.plot(grid, np.exp(intercept) * grid ** slope, "--", color=colors[name], lw=1)
            out[name] = float(np.exp(intercept) * n_thesis ** slope)
    for name, value in thesis.items():
        ax.plot([n_thesis], [value], "*", ms=10, color=colors.get(name, "0.5"), mec="k", mew=0.5)
        ax.annotate(f"{name} {value:g}", (n_thesis, value), fontsize=7, xytext=(-4, 3), textcoords="offset points",
                    ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training molecules")
    ax.set_ylabel("test MAE (kcal/mol)")
    ax.legend(fontsize=7, ncol=2)
    return out
