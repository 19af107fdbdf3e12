"""The regression protocol of thesis ch. 2.6 on the carbon database: data, models, folds, errors, scale analysis.

* Data (:class:`CarbonData`): the cells of a database with their density, MD run, snapshot and energies; the
  target is MBD@rsSCS (:data:`localbook.atoms.carbon.TARGET`), plain MBD and the pair sums ride along.
* Folds: the independent MD runs. The thesis' headline model is trained on four runs of *every* density (2,000
  cells) and tested on the fifth, five times; its per-density table comes from one model per density (ch. 2.6.1:
  "for each value of the [density], we train a linear regression using a five fold cross validation. The five
  cross-validation folds are the five uncorrelated runs"). :func:`cross_validate` runs either, with
  :func:`localbook.regression.cross_val_predictions` (``groups`` the run, ``within`` the density). Every cell is
  predicted by a model that never saw its trajectory, and the models that tune a regularisation do so by an
  inner leave-one-run-out cross-validation on their training runs.
* Errors (:func:`error_table`): MAE and RMSE in meV per cell, per density and pooled, and the RMSE relative to the
  spread of the energies *within* a density (the total spread is dominated by the five density offsets), with the
  fold-to-fold spread; :func:`paired_fold_difference` compares two models fold by fold.
* Models (:func:`chapter_models`): baselines (mean energy, one mean per density), the pair potential alone, two
  SOAP kernels alone, two SOAP kernels and the pair potential fitted jointly (:class:`~localbook.atoms.soap.
  SparseSOAPRegressor`), the thesis' two-stage fit (:class:`ResidualStack`), scattering + ridge.
* Scale analysis (thesis fig. 2.4): :func:`scale_analysis`, with the thesis' truncation of the fitted model and a
  refit on the coefficients up to each length.
* A guard (:func:`check_wavelets_fit_cells`): a wavelet wider than half the smallest periodic cell wraps onto
  itself, and its coefficients then differ between cell sizes for no physical reason.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression

from localbook.atoms.carbon import ENERGY_KEYS, TARGET, cell_side_angstrom
from localbook.regression import GroupRidgeCV, cross_val_predictions, errors, unfold_linear
from localbook.regression.crossval import CVResult
from localbook.scattering3d import check_wavelets_fit_cells, coefficient_scales  # noqa: F401 (re-exported)

__all__ = ["THESIS", "CarbonData", "many_body_table", "chapter_models", "cross_validate", "error_table",
           "paired_fold_difference", "snapshot_learning_curves", "truncated_scale_errors", "scale_analysis",
           "ResidualStack", "check_wavelets_fit_cells", "coefficient_scales", "plot_errors",
           "plot_pair_potentials", "thesis_per_density_pooled_rmse", "error_rows", "verdict",
           "many_body_share", "fold_difference_cells", "reference_rows", "scale_rows", "curve_rows",
           "thesis_comparison_rows", "plot_scale_analysis", "MEAN", "DENSITY_MEAN", "PAIR", "SOAP", "JOINT",
           "TWO_STAGE", "SCATTERING", "SCATTERING_PER_DENSITY"]

THESIS = {
    "per_density": {1.0: (49.6, 64.0), 1.25: (42.1, 54.0), 1.5: (52.2, 66.0), 1.75: (44.5, 57.4),
                    2.0: (39.6, 50.3)},  # ch. 2.6.2: MAE, RMSE (meV/cell), one model per density
    "scattering": (39.5, 49.8),  # ch. 2.6.2: MAE, RMSE (meV/cell), one model on 2,000 cells of all densities
    "soap_pair_rmse": 52.8, "soap_alone_rmse": 70.0, "pair_alone": 442.0,  # ch. 2.6.3 (442: "mean square error")
    "scattering_6A_rmse": 65.0,  # ch. 2.6.4: scattering limited to 6 Å
    "energy_range": (-68.29, -40.19), "energy_mean": -54.16, "energy_std": 7.06,  # ch. 2.4.3 (eV)
    "n_cells": 2500, "atoms": "460-512", "ridge_alpha": 1e-6,
}
"""The thesis' numbers for this chapter (ch. 2.4-2.6)."""


MEAN = "mean energy (atom count only)"
DENSITY_MEAN = "one mean per density"
PAIR = "pair potential alone"
SOAP = "2 SOAP alone"
JOINT = "2 SOAP + pair, jointly"
TWO_STAGE = "pair, then 2 SOAP (thesis' two stages)"
SCATTERING = "scattering + ridge"
SCATTERING_PER_DENSITY = "scattering, one model per density"
"""The names of the chapter's models (rows of its table)."""


def thesis_per_density_pooled_rmse() -> float:
    """The RMSE (meV) of all 2,500 cells that the thesis' per-density table implies, ``sqrt(mean RMSE_d^2)``
    (equal cells per density): 58.6, not the headline 49.8, so the two come from different models."""
    return float(np.sqrt(np.mean([rmse**2 for _, rmse in THESIS["per_density"].values()])))


@dataclass
class CarbonData:
    """The cells of a carbon database and their labels, as arrays (one row per cell).

    ``energy``: the target (eV per cell, MBD@rsSCS by default); ``columns``: every energy of
    :data:`localbook.atoms.carbon.ENERGY_KEYS` present in the database, by short name (``"mbd_plain"``...).
    """

    structures: list[Atoms]
    density: np.ndarray
    run: np.ndarray
    snapshot: np.ndarray
    energy: np.ndarray
    n_atoms: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_structures(cls, structures: Sequence[Atoms], densities: Sequence[float] | None = None,
                        snapshots_per_run: int | None = None, target: str = TARGET) -> CarbonData:
        """Select the cells of ``densities`` (all when ``None``) and the first ``snapshots_per_run`` snapshots of
        each run; raise a clear error when the database lacks them."""
        if not structures or target not in structures[0].info:
            raise KeyError(f"the database has no {target!r} energies: rebuild it with `python -m "
                           "localbook.atoms.carbon build` (older databases carried plain MBD only)")
        available = sorted({float(s.info["density_g_cm3"]) for s in structures})
        missing = sorted(set(densities or []) - set(available))
        if missing:
            raise ValueError(f"densities {missing} are not in the database (it has {available})")
        n_snap = 1 + max(int(s.info["snapshot"]) for s in structures)
        if snapshots_per_run is not None and snapshots_per_run > n_snap:
            raise ValueError(f"snapshots_per_run = {snapshots_per_run} but the database has {n_snap} per run")
        keep = [s for s in structures if (densities is None or float(s.info["density_g_cm3"]) in densities)
                and (snapshots_per_run is None or int(s.info["snapshot"]) < snapshots_per_run)]
        info = lambda key: np.array([s.info[key] for s in keep])  # noqa: E731
        columns = {name: info(key) for name, key in ENERGY_KEYS.items() if key in keep[0].info}
        return cls(structures=keep, density=info("density_g_cm3").astype(float), run=info("run").astype(int),
                   snapshot=info("snapshot").astype(int), energy=info(target).astype(float),
                   n_atoms=np.array([len(s) for s in keep]), columns=columns)

    def __len__(self) -> int:
        return len(self.energy)

    @property
    def densities(self) -> list[float]:
        return sorted(set(self.density.tolist()))

    def within_density_std(self) -> dict[float, float]:
        """Standard deviation (eV) of the target inside each density."""
        return {d: float(self.energy[self.density == d].std()) for d in self.densities}

    def summary_rows(self) -> list[tuple]:
        """One row per density: cells, runs, atoms, cell side (Å), energy range (eV), spread within (meV)."""
        rows = []
        for d, std in self.within_density_std().items():
            m = self.density == d
            side = cell_side_angstrom(int(self.n_atoms[m][0]), d)
            rows.append((f"{d:.2f}", int(m.sum()), len(set(self.run[m])), int(self.n_atoms[m][0]), f"{side:.2f}",
                         f"{self.energy[m].min():.2f} .. {self.energy[m].max():.2f}", f"{1000 * std:.0f}"))
        return rows

    def thesis_rows(self) -> list[tuple]:
        """Rows ``(quantity, thesis, this book, note)`` comparing the database with the thesis' (ch. 2.4)."""
        e, n = self.energy, self.n_atoms
        per_atom = 1000 * e / n
        runs = len(set(zip(self.density.tolist(), self.run.tolist())))
        lo, hi = THESIS["energy_range"]
        return [
            ("cells", f"{THESIS['n_cells']:,} (25 runs x 100)", f"{len(e):,} ({runs} runs x {len(e) // runs})", ""),
            ("atoms per cell", THESIS["atoms"], ", ".join(str(v) for v in np.unique(n)), ""),
            ("E range (eV)", f"{lo} .. {hi}", f"{e.min():.2f} .. {e.max():.2f}", f"{n.max()} atoms"),
            ("E mean, std (eV)", f"{THESIS['energy_mean']}, {THESIS['energy_std']}", f"{e.mean():.2f}, {e.std():.2f}",
             f"{n.max()} atoms"),
            ("E per atom, range (meV)", f"within {1000 * lo / 460:.0f} .. {1000 * hi / 512:.0f}",
             f"{per_atom.min():.0f} .. {per_atom.max():.0f}", "thesis: bounded (460-512 atoms)"),
        ]


def many_body_share(data: CarbonData) -> dict[float, float]:
    """Mean non-pairwise part ``(E - E_pair) / |E_pair|`` of each density, ``E_pair`` the damped pairwise sum
    with free-atom ``C6`` (a fraction, signed)."""
    if "pair_free" not in data.columns:
        raise KeyError("the database lacks the pair sums (energy_pair_free_ev): rebuild it")
    return {d: float((data.energy - data.columns["pair_free"])[data.density == d].mean()
                     / abs(data.columns["pair_free"][data.density == d].mean())) for d in data.densities}


def many_body_table(data: CarbonData) -> list[tuple]:
    """Per density: mean MBD@rsSCS, mean damped pairwise sum with free-atom ``C6``, the non-pairwise part
    ``E - E_pair`` (eV and % of ``|E_pair|``), its spread within the density and the target's (meV), the mean
    screened polarisability ratio, and the mean plain MBD (eV). The spread of ``E - E_pair`` within a density is
    what a fixed pair potential cannot follow from cell to cell."""
    need = ("pair_free", "mbd_plain", "alpha_ratio_rsscs")
    if any(k not in data.columns for k in need):
        raise KeyError(f"the database lacks {[k for k in need if k not in data.columns]}: rebuild it")
    rows = []
    share = many_body_share(data)
    for d in data.densities:
        m = data.density == d
        e, pair = data.energy[m], data.columns["pair_free"][m]
        many = e - pair
        rows.append((f"{d:.2f}", f"{e.mean():.2f}", f"{pair.mean():.2f}", f"{many.mean():+.2f}",
                     f"{100 * share[d]:+.1f} %", f"{1000 * many.std():.0f}",
                     f"{1000 * e.std():.0f}", f"{data.columns['alpha_ratio_rsscs'][m].mean():.3f}",
                     f"{data.columns['mbd_plain'][m].mean():.2f}"))
    return rows


class ResidualStack(RegressorMixin, BaseEstimator):
    """The thesis' two-stage fit (ch. 2.5.2: "The first term is fitted alone ... Then the remaining energy is
    fitted using the two ... SOAP kernels"): ``first`` fitted on the target, then ``second`` on what ``first``
    leaves *on the same training rows*, both inside each cross-validation fold.

    ``X`` is an integer array of row indices; ``first_input(rows)`` and ``second_input(rows)`` return each
    model's input for those rows (e.g. pair features, and a list of structures). ``groups`` are passed on to
    models whose ``fit`` takes them. The joint fit (:class:`~localbook.atoms.soap.SparseSOAPRegressor` with a
    ``pair``) is the fair version: here the SOAP kernels must fit whatever the pair potential got wrong in-sample.
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


@dataclass
class _Rows:
    """``rows -> array[rows]`` (picklable, unlike a lambda)."""

    values: object

    def __call__(self, rows):
        return self.values[rows] if isinstance(self.values, np.ndarray) else [self.values[i] for i in rows]


def chapter_models(data: CarbonData, X_scattering: np.ndarray | None, X_pair: np.ndarray, soap, pair,
                   pair_alphas: float | Sequence[float], sequential: bool = True) -> dict[str, tuple[object, object]]:
    """The models of the chapter's table, each ``name -> (estimator, X)``, all fitted by the same protocol.

    ``soap``: a :class:`~localbook.atoms.soap.SparseSOAPRegressor` (without pair term); ``pair``: the
    :class:`~localbook.atoms.pair.PairPotentialFeatures` of ``X_pair`` (already computed features, for the pair
    model alone and the two-stage fit), added to a copy of ``soap`` with its own regularisation grid
    ``pair_alphas`` for the joint model; ``X_scattering``: scattering coefficients (``None``: no scattering row).
    Baselines: the mean energy (all cells have the same number of atoms, so this is the atom-count model) and
    one mean per density (one-hot density, least squares).
    """
    one_hot = (data.density[:, None] == np.array(data.densities)[None, :]).astype(float)
    models = {
        MEAN: (LinearRegression(), data.n_atoms[:, None].astype(float)),
        DENSITY_MEAN: (LinearRegression(fit_intercept=False), one_hot),
        PAIR: (GroupRidgeCV(), X_pair),
        SOAP: (soap, data.structures),
        JOINT: (clone(soap).set_params(pair=clone(pair), pair_alpha=pair_alphas), data.structures),
    }
    if sequential:
        models[TWO_STAGE] = (ResidualStack(GroupRidgeCV(), soap, _Rows(X_pair), _Rows(data.structures)),
                             np.arange(len(data)))
    if X_scattering is not None:
        models[SCATTERING] = (GroupRidgeCV(), X_scattering)
    return models


def cross_validate(models: Mapping[str, tuple[object, object]], data: CarbonData, per_density: bool = False,
                   train_mask=None, progress: bool = False) -> dict[str, CVResult]:
    """Out-of-fold predictions of every model, folds = MD runs (module docstring); ``per_density``: one model
    per density. The fitted models are kept (``CVResult.models``)."""
    from tqdm.auto import tqdm

    out = {}
    for name, (estimator, X) in tqdm(models.items(), desc="models", disable=not progress):
        out[name] = cross_val_predictions(estimator, X, data.energy, n_splits=None, groups=data.run,
                                          within=data.density if per_density else None, train_mask=train_mask,
                                          return_models=True)
    return out


def _fold_rmse(result: CVResult) -> np.ndarray:
    return np.array([e["rmse"] for e in result.errors_per_fold()])


def _fold_rmse_by_run(result: CVResult, run: np.ndarray) -> np.ndarray:
    """RMSE of each held-out run index (the pooled folds; for per-density models, the cells of run ``r`` of every
    density together), so that models with different fold layouts compare fold by fold."""
    return np.array([errors(result.y_true[run == r], result.y_pred[run == r])["rmse"] for r in np.unique(run)])


def error_table(results: Mapping[str, CVResult], data: CarbonData) -> list[dict]:
    """Errors of each model, meV per cell: ``{"model", "per_density": {d: (mae, rmse)}, "mae", "rmse",
    "rmse_within": RMSE / within-density spread (pooled: over sqrt(mean_d var_d)), "rmse_within_by_density",
    "fold_rmse": (5,) RMSE of each held-out run index, "fold_sem": their standard error}``."""
    spread = data.within_density_std()
    pooled_spread = float(np.sqrt(np.mean(np.square(list(spread.values())))))
    table = []
    for name, res in results.items():
        per = {d: errors(data.energy[data.density == d], res.y_pred[data.density == d], 1000.0)
               for d in data.densities}
        total = errors(data.energy, res.y_pred, 1000.0)
        folds = 1000 * _fold_rmse_by_run(res, data.run)
        table.append({"model": name, "per_density": {d: (e["mae"], e["rmse"]) for d, e in per.items()},
                      "mae": total["mae"], "rmse": total["rmse"], "rmse_within": total["rmse"] / 1000 / pooled_spread,
                      "rmse_within_by_density": {d: per[d]["rmse"] / 1000 / spread[d] for d in data.densities},
                      "fold_rmse": folds, "fold_sem": float(folds.std(ddof=1) / np.sqrt(len(folds)))})
    return table


def paired_fold_difference(a: CVResult, b: CVResult, run: np.ndarray) -> dict[str, float]:
    """RMSE of ``a`` minus RMSE of ``b`` (units of the target x 1000) on each held-out run index: the mean, its
    standard error over folds, and the folds where ``a`` is worse. Paired, so that the fold-to-fold variation
    common to both models cancels."""
    diff = 1000 * (_fold_rmse_by_run(a, run) - _fold_rmse_by_run(b, run))
    return {"mean": float(diff.mean()), "sem": float(diff.std(ddof=1) / np.sqrt(len(diff))),
            "worse_folds": int((diff > 0).sum()), "n_folds": len(diff), "per_fold": diff}


def error_rows(table: list[dict], densities: Sequence[float], thesis: bool = True) -> tuple[tuple, list[tuple]]:
    """``(header, rows)`` of :func:`error_table` for a text table: MAE / RMSE per density, pooled MAE and RMSE,
    the RMSE over the within-density spread, and the fold RMSEs' mean and standard error; with ``thesis``, the
    thesis' per-density table and headline as the last rows."""
    header = ("model (MAE / RMSE, meV per cell)", *[f"{d:.2f}" for d in densities], "MAE", "RMSE",
              "RMSE / spread in density", "fold RMSE (s.e.)")
    rows = [(r["model"], *[f"{r['per_density'][d][0]:.1f} / {r['per_density'][d][1]:.1f}" for d in densities],
             f"{r['mae']:.1f}", f"{r['rmse']:.1f}", f"{100 * r['rmse_within']:.1f} %",
             f"{r['fold_rmse'].mean():.1f} ({r['fold_sem']:.1f})") for r in table]
    if thesis:
        per = THESIS["per_density"]
        rows.append(("thesis: scattering, one model per density",
                     *[f"{per[d][0]} / {per[d][1]}" if d in per else "-" for d in densities],
                     f"{np.mean([v[0] for v in per.values()]):.1f}", f"{thesis_per_density_pooled_rmse():.1f}",
                     "-", "-"))
        rows.append(("thesis: scattering, one model (2,000 cells)", *["-"] * len(densities),
                     f"{THESIS['scattering'][0]}", f"{THESIS['scattering'][1]}", "-", "-"))
    return header, rows


def fold_difference_cells(difference: Mapping[str, float]) -> tuple[str, str, str, str]:
    """Text cells of a :func:`paired_fold_difference`: mean, standard error, worse folds, the per-fold values."""
    return (f"{difference['mean']:+.1f}", f"{difference['sem']:.1f}",
            f"{difference['worse_folds']} of {difference['n_folds']}",
            " ".join(f"{v:+.1f}" for v in difference["per_fold"]))


#: Differences below this (eV) are float rounding: their digits change with the BLAS thread count, so they print as a
#: bound (a checked output must not depend on the machine).
ROUNDING_EV = 1e-10


def reference_rows(reference: Sequence[Mapping]) -> list[tuple]:
    """Text rows of :func:`localbook.atoms.mbd.reference_comparison` (differences under ``ROUNDING_EV`` as a bound)."""
    def difference(d: float) -> str:
        return f"< {ROUNDING_EV:.0e}" if abs(d) < ROUNDING_EV else f"{d:.1e}"

    return [(r["structure"], r["variant"], f"{r['ours']:.8f}", f"{r['pymbd']:.8f}", difference(r["difference"]))
            for r in reference]


def scale_rows(analysis: Mapping[str, np.ndarray]) -> list[tuple]:
    """Text rows of :func:`scale_analysis`: length (Å), truncated RMSE, refitted RMSE (meV)."""
    return [(f"{length:.2f}", f"{t:.3g}", f"{f:.1f}")
            for length, t, f in zip(analysis["length"], analysis["truncated"], analysis["refitted"])]


def curve_rows(curves: Mapping[str, np.ndarray], names: Sequence[str]) -> list[tuple]:
    """Text rows of :func:`snapshot_learning_curves`: training cells, then each model's mean RMSE over folds."""
    return [(n, *[f"{curves[name][i].mean():.1f}" for name in names])
            for i, n in enumerate(curves["training cells"])]


def thesis_comparison_rows(table: list[dict], data: CarbonData, results: Mapping[str, CVResult]) -> list[tuple]:
    """Rows ``(quantity, thesis, this book, note)`` of the chapter's closing comparison."""
    by = {row["model"]: row for row in table}
    scale = f"{len(data):,} cells of {int(data.n_atoms.max())} atoms"
    alphas = sorted({f"{m.alpha_:.0e}" for _, m in results[SCATTERING].models})
    per_density = by[SCATTERING_PER_DENSITY]
    return [
        ("scattering + ridge, one model: MAE / RMSE (meV/cell)", f"{THESIS['scattering'][0]} / "
         f"{THESIS['scattering'][1]}", f"{by[SCATTERING]['mae']:.1f} / {by[SCATTERING]['rmse']:.1f}",
         scale),
        ("scattering + ridge, one model per density: RMSE", f"{thesis_per_density_pooled_rmse():.1f} (table pooled)",
         f"{per_density['rmse']:.1f}", scale),
        ("2 SOAP + pair potential: RMSE", f"{THESIS['soap_pair_rmse']} (two stages)",
         f"{by[JOINT]['rmse']:.1f} jointly, {by[TWO_STAGE]['rmse']:.1f} in two stages", scale),
        ("2 SOAP alone: RMSE", f"{THESIS['soap_alone_rmse']}", f"{by[SOAP]['rmse']:.1f}", scale),
        ("pair potential alone", f"{THESIS['pair_alone']:.0f} ('mean square error')",
         f"{by[PAIR]['rmse']:.1f} (RMSE)", scale),
        ("energy spread (eV)", f"{THESIS['energy_std']} total", f"{data.energy.std():.2f} total, "
         f"{1000 * np.sqrt(np.mean(np.square(list(data.within_density_std().values())))):.0f} meV within density",
         scale),
        ("ridge alpha chosen (scattering)", f"{THESIS['ridge_alpha']:g}", ", ".join(alphas),
         "on standardised coefficients"),
    ]


def verdict(difference: Mapping[str, float]) -> str:
    """``"lower than"``, ``"higher than"`` or ``"within fold noise of"``: the sign of a
    :func:`paired_fold_difference` when it exceeds two standard errors."""
    if difference["mean"] + 2 * difference["sem"] < 0:
        return "lower than"
    if difference["mean"] - 2 * difference["sem"] > 0:
        return "higher than"
    return "within fold noise of"


def curve_trend(before: float, after: float, flat: float = 0.05) -> str:
    """How a learning curve's last step reads in prose: ``"still falls by N %"``, ``"is flat to within 5 %"`` or
    ``"rises by N %"``, from the mean RMSE ``before`` and ``after`` it; ``flat`` is the relative change below
    which the curve counts as flat."""
    if not (before > 0 and after > 0):
        raise ValueError(f"curve_trend needs two positive errors, got {before!r} and {after!r}")
    change = after / before - 1
    if change < -flat:
        return f"still falls by {-100 * change:.0f} %"
    if change > flat:
        return f"rises by {100 * change:.0f} %"
    return f"is flat to within {100 * flat:.0f} %"


def refit_sentence(analysis: Mapping[str, np.ndarray], tolerance: float = 0.01) -> str:
    """What :func:`scale_analysis`'s refitted curve says, as a clause of the chapter's prose: whether a ridge on
    the coefficients up to some length ``L`` does better (by more than ``tolerance``, relative) than on every
    scale."""
    refit, lengths = np.asarray(analysis["refitted"]), np.asarray(analysis["length"])
    best = int(refit.argmin())
    if best < len(refit) - 1 and refit[best] < (1 - tolerance) * refit[-1]:
        return (f"a ridge refitted on the coefficients up to {lengths[best]:.2f} Å reaches {refit[best]:.1f} meV, "
                f"lower than with every scale ({refit[-1]:.1f}): at this size the widest scales add more variance "
                "than signal")
    return (f"a ridge refitted on fewer scales does no better than on every scale ({refit[-1]:.1f} meV): at this "
            "size the widest scales earn their place")


def snapshot_learning_curves(models: Mapping[str, tuple[object, object]], data: CarbonData,
                             snapshots: Sequence[int], progress: bool = False,
                             full: Mapping[str, CVResult] | None = None) -> dict[str, np.ndarray]:
    """Test RMSE (meV) of each model trained on the first ``k`` snapshots of each training run, for each ``k``
    of ``snapshots``: ``{name: (len(snapshots), n_folds)}``, plus ``"training cells"`` ``(len(snapshots),)``
    per fold. Every cell of the held-out runs is still predicted (the test set does not change with ``k``).

    ``full``: :func:`cross_validate` results of these models on every snapshot (the chapter's table); a ``k``
    that keeps every snapshot reuses them instead of fitting the same folds again (the costliest point)."""
    out: dict[str, np.ndarray] = {}
    for k in snapshots:
        mask = data.snapshot < k
        if full is not None and mask.all() and all(name in full for name in models):
            results = {name: full[name] for name in models}
        else:
            results = cross_validate(models, data, train_mask=mask, progress=progress)
        for name, res in results.items():
            out.setdefault(name, []).append(1000 * _fold_rmse(res))
        out.setdefault("training cells", []).append(int((mask & (data.run != data.run.min())).sum()))
    return {name: np.array(v) for name, v in out.items()}


def truncated_scale_errors(X: np.ndarray, y, fitted: Sequence, scales: np.ndarray, lengths: Sequence[float],
                           scale_of_length: Callable[[float], float] | None = None) -> np.ndarray:
    """RMSE (units of ``y`` x 1000) of predictions that keep only columns with ``scales <= L`` for each L.

    ``fitted`` is a ``CVResult.models`` list of ``(test_rows, model)``; ``scales`` gives each column's largest
    length (``nan`` for columns without a scale, such as order 0, which are always kept).
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


def scale_analysis(X: np.ndarray, data: CarbonData, fitted: Sequence, scales: np.ndarray) -> dict[str, np.ndarray]:
    """Thesis fig. 2.4: for each length ``L`` among the coefficients' scales, the RMSE (meV) of the fitted
    models keeping only coefficients of scale ``<= L`` (the thesis' truncation), and of a ridge regression refitted
    on those coefficients only (same folds). Returns ``{"length", "truncated", "refitted"}``."""
    lengths = np.unique(scales[~np.isnan(scales)])
    refit = []
    for length in lengths:
        keep = np.isnan(scales) | (scales <= length)
        res = cross_val_predictions(GroupRidgeCV(), X[:, keep], data.energy, n_splits=None, groups=data.run)
        refit.append(res.errors(1000.0)["rmse"])
    return {"length": lengths, "truncated": truncated_scale_errors(X, data.energy, fitted, scales, lengths),
            "refitted": np.array(refit)}


def plot_errors(axes, data: CarbonData, results: Mapping[str, CVResult], names: Sequence[str]) -> None:
    """Errors (meV) against the energy (thesis fig. 2.6, right), one panel per model."""
    for ax, name in zip(axes, names):
        ax.scatter(data.energy, 1000 * (results[name].y_pred - data.energy), c=data.density, s=5, cmap="viridis")
        ax.axhline(0, color="k", lw=0.6)
        ax.set(title=name, xlabel="E (eV)")
    axes[0].set_ylabel("error (meV per cell)")


def plot_scale_analysis(ax, analysis: Mapping[str, np.ndarray], soap_rmse: float) -> None:
    """Thesis fig. 2.4: RMSE (meV) against the largest wavelet width kept, truncated and refitted, with the SOAP
    kernels' RMSE (range 6 Å) as a reference line."""
    ax.plot(analysis["length"], analysis["truncated"], "o-", label="fitted model, coefficients dropped (thesis)")
    ax.plot(analysis["length"], analysis["refitted"], "s-", label="ridge refitted on those coefficients")
    ax.axhline(soap_rmse, color="gray", ls=":", label="2 SOAP alone (range 6 Å)")
    ax.set(xscale="log", yscale="log", xlabel="largest wavelet width kept, 2^j σ_w (Å)", ylabel="RMSE (meV/cell)",
           title="Error versus the range captured by scattering")
    # one labelled tick per measured width: the log axis' default minor labels ("3x10^0 4x10^0") crowd each other
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(analysis["length"]))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.3g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)


def plot_pair_potentials(ax, results: Mapping[str, CVResult], r: np.ndarray | None = None) -> None:
    """The pair potential learned in each fold by the joint SOAP + pair model (thesis fig. 2.5, right), meV, at
    distances ``r`` (Å; default 1 to 10 Å)."""
    r = np.linspace(1.0, 10.0, 300) if r is None else np.asarray(r, dtype=float)
    for name, res in results.items():
        for k, (_, model) in enumerate(res.models):
            ax.plot(r, 1000 * model.pair_potential(r), lw=1.0, color=f"C{k}", label=f"{name}, fold {k}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="r (Å)", ylabel="V(r) (meV)")
    ax.legend(fontsize=7)
