"""Chapter 02's results: every model of table 2.1 cross-validated on the same folds, the table, the learning
curves, the thesis' points beside them and power-law guesses at the thesis' size (thesis ch. 2.3.3).

The thesis' numbers are test MAEs (kcal/mol) with 107,108 training molecules per fold (5 folds).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localbook.atoms.qm9_baselines import RegressionModel
from localbook.regression import CVResult, LearningCurve, cross_val_predictions, learning_curve

__all__ = ["THESIS_MAE_KCAL_MOL", "THESIS_N_TRAIN", "cross_validate_models", "learning_curves_of", "results_rows",
           "beats_baselines", "curve_errors", "thesis_points", "power_law_guesses", "GPU_RUN_FILE", "GpuRun",
           "load_gpu_run"]

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


#: The thesis-sampling run made on a GPU (``tools/qm9_gpu_run.py`` there, ``tools/qm9_gpu_fit.py`` here).
GPU_RUN_FILE = Path(__file__).parent / "data" / "qm9_thesis_sampling_gpu.json"


@dataclass(frozen=True)
class GpuRun:
    """The recorded GPU run of chapter 02's descriptor at the thesis' sampling: ``raw`` is the JSON file (its
    ``gpu`` entry holds the device's checks and timings, ``provenance`` the commit and commands); ``curve_sizes``
    and ``curves`` (``{model: MAE (n_sizes, n_folds)}``) its learning curves; ``same`` the linear model and the
    dressed atom (and the trilinear model, when fitted) on the medium run's molecules and folds (``{model:
    fold-mean MAE}``), ``same_folds`` their MAE per fold."""

    raw: dict
    curve_sizes: np.ndarray
    curves: dict[str, np.ndarray]
    same: dict[str, float]
    same_folds: dict[str, np.ndarray]

    @property
    def n_molecules(self) -> int:
        return int(self.raw["n_molecules"])

    @property
    def timing(self) -> dict:
        return self.raw["gpu"]["thesis_preset_run"]

    @property
    def checks(self) -> dict:
        return self.raw["gpu"]["thesis_preset_4_molecules"]


def load_gpu_run(path: str | Path | None = None) -> GpuRun:
    """Read and check the recorded GPU run (see :class:`GpuRun`): the shipped file, checked against its SHA-256,
    when ``path`` is ``None``. A missing or malformed file is an error that says how to make it."""
    if path is None:
        from localbook.data.artefacts import verified_path
        path = verified_path("qm9_thesis_sampling_gpu")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run tools/qm9_gpu_run.py on a GPU, then tools/qm9_gpu_fit.py")
    raw = json.loads(path.read_text())
    try:
        sizes = np.asarray(raw["curve"]["train_sizes"], dtype=int)
        curves = {name: np.asarray(c["mae"], dtype=float) for name, c in raw["curve"]["models"].items()}
        same = {name: float(c["mae"]) for name, c in raw["same_molecules"]["models"].items()}
        same_folds = {name: np.asarray(c["fold_mae"], float) for name, c in raw["same_molecules"]["models"].items()}
        raw["gpu"]["thesis_preset_run"]["s_per_molecule"], raw["provenance"]["commit"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a chapter 02 GPU run (missing {err}): remake it with "
                         "tools/qm9_gpu_fit.py") from None
    bad = [name for name, c in curves.items() if c.shape[0] != len(sizes)]
    if bad:
        raise ValueError(f"{path}: the learning curves of {bad} do not have one row per training size {sizes}")
    return GpuRun(raw, sizes, curves, same, same_folds)
