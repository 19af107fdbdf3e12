import numpy as np
import pytest
from ase import Atoms
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from localbook.atoms import longrange as lr
from localbook.atoms.carbon import ENERGY_KEYS, TARGET, initial_cell
from localbook.regression import GroupRidgeCV, cross_val_predictions
from localbook.regression.crossval import CVResult


def toy(n_per=6, seed=0):
    """Two densities x 5 runs x n_per snapshots; a linear target of 4 features."""
    rng = np.random.default_rng(seed)
    density = np.repeat([1.0, 1.5], 5 * n_per)
    run = np.tile(np.repeat(np.arange(5), n_per), 2)
    snapshot = np.tile(np.arange(n_per), 10)
    X = rng.normal(size=(len(run), 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 + 5.0 * density
    data = lr.CarbonData(structures=[None] * len(y), density=density, run=run, snapshot=snapshot, energy=y,
                         n_atoms=np.full(len(y), 8))
    return X, data


def labelled_cells():
    cells = []
    for d, density in enumerate((1.0, 2.0)):
        for run in range(2):
            for snap in range(3):
                a = initial_cell(8, density, seed=100 * d + 10 * run + snap)
                a.info.update(density_g_cm3=density, run=run, snapshot=snap,
                              **{key: -1.0 - d - 0.01 * snap for key in ENERGY_KEYS.values()})
                cells.append(a)
    return cells


def test_carbon_data_selects_densities_and_snapshots_and_names_what_is_missing():
    cells = labelled_cells()
    data = lr.CarbonData.from_structures(cells, densities=[2.0], snapshots_per_run=2)
    assert len(data) == 4 and set(data.density) == {2.0} and data.snapshot.max() == 1
    assert set(data.columns) == set(ENERGY_KEYS) and np.allclose(data.energy, data.columns["mbd_rsscs"])
    with pytest.raises(ValueError, match=r"densities \[1.5\] are not in the database"):
        lr.CarbonData.from_structures(cells, densities=[1.5])
    with pytest.raises(ValueError, match="3 per run"):
        lr.CarbonData.from_structures(cells, snapshots_per_run=4)
    old = [Atoms("C", info={"density_g_cm3": 1.0, "run": 0, "snapshot": 0, "energy_mbd_ev": -1.0})]
    with pytest.raises(KeyError, match=f"no '{TARGET}'.*rebuild"):
        lr.CarbonData.from_structures(old)
    rows = lr.many_body_table(lr.CarbonData.from_structures(cells))
    assert [r[0] for r in rows] == ["1.00", "2.00"] and rows[0][3] == "+0.00"  # E - E_pair = 0 in these labels


def test_every_cell_is_predicted_by_a_model_that_never_saw_its_run():
    X, data = toy()
    X[data.run == 2] += 100.0  # a run far away: seen in training it would be fit, unseen it is extrapolated
    data.energy = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    res = lr.cross_validate({"linear": (LinearRegression(), X)}, data)["linear"]
    assert len(res.models) == 5
    for rows, _ in res.models:
        assert len(set(data.run[rows])) == 1 and len(set(data.density[rows])) == 2
    np.testing.assert_allclose(res.y_pred, data.energy, atol=1e-8)  # exact linear target extrapolates
    per = lr.cross_validate({"linear": (LinearRegression(), X)}, data, per_density=True)["linear"]
    assert len(per.models) == 10 and all(len(set(data.density[rows])) == 1 for rows, _ in per.models)


def test_error_table_normalises_by_the_spread_within_each_density():
    X, data = toy()
    pred = data.energy + np.where(data.density == 1.0, 0.002, -0.004)  # 2 and 4 meV errors
    res = CVResult(y_true=data.energy, y_pred=pred, fold=data.run, fit_seconds=np.zeros(5))
    row = lr.error_table({"m": res}, data)[0]
    assert row["per_density"][1.0] == (pytest.approx(2.0), pytest.approx(2.0))
    assert row["rmse"] == pytest.approx(np.sqrt((4 + 16) / 2))
    spread = data.within_density_std()
    assert row["rmse_within_by_density"][1.5] == pytest.approx(0.004 / spread[1.5])
    assert row["rmse_within"] == pytest.approx(row["rmse"] / 1000 / np.sqrt((spread[1.0] ** 2 + spread[1.5] ** 2) / 2))
    assert row["fold_rmse"].shape == (5,) and row["fold_sem"] == pytest.approx(0.0, abs=1e-9)


def test_paired_fold_difference_is_per_held_out_run():
    X, data = toy()
    base = CVResult(y_true=data.energy, y_pred=data.energy + 0.001, fold=data.run, fit_seconds=np.zeros(5))
    worse = data.energy + np.where(data.run == 3, 0.011, 0.001)
    diff = lr.paired_fold_difference(CVResult(data.energy, worse, data.run, np.zeros(5)), base, data.run)
    np.testing.assert_allclose(diff["per_fold"], [0, 0, 0, 10, 0], atol=1e-9)
    assert diff["mean"] == pytest.approx(2.0) and diff["worse_folds"] == 1 and diff["sem"] == pytest.approx(2.0)


def test_learning_curve_trains_on_the_first_snapshots_and_tests_on_everything():
    X, data = toy(n_per=8)
    data.energy = data.energy + np.random.default_rng(1).normal(scale=0.5, size=len(data))
    curves = lr.snapshot_learning_curves({"ridge": (GroupRidgeCV(), X)}, data, [2, 8])
    assert curves["ridge"].shape == (2, 5) and list(curves["training cells"]) == [16, 64]
    assert curves["ridge"][1].mean() < curves["ridge"][0].mean()
    full = lr.cross_validate({"ridge": (GroupRidgeCV(), X)}, data)
    reused = lr.snapshot_learning_curves({"ridge": (GroupRidgeCV(), X)}, data, [2, 8], full=full)
    np.testing.assert_allclose(reused["ridge"], curves["ridge"])
    full["ridge"].y_pred[:] = data.energy  # a perfect 'full' result shows that k = 8 reused it and k = 2 did not
    reused = lr.snapshot_learning_curves({"ridge": (GroupRidgeCV(), X)}, data, [2, 8], full=full)
    assert np.all(reused["ridge"][1] == 0) and np.all(reused["ridge"][0] > 0)


def test_truncation_uses_the_unfolded_coefficients_and_refitting_uses_the_same_folds():
    X, data = toy()
    data.energy = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0  # exactly linear in the 4 columns
    res = cross_val_predictions(make_pipeline(StandardScaler(), Ridge(alpha=1e-9)), X, data.energy, n_splits=None,
                                groups=data.run, return_models=True)
    scales = np.array([np.nan, 1.0, 2.0, 4.0])
    err = lr.truncated_scale_errors(X, data.energy, res.models, scales, lengths=[0.5, 1.0, 2.0, 4.0])
    assert err[0] > err[1] > err[2] and err[2] < 1e-3 and err[3] < 1e-3
    ridge = cross_val_predictions(GroupRidgeCV(), X, data.energy, n_splits=None, groups=data.run, return_models=True)
    out = lr.scale_analysis(X, data, ridge.models, scales)
    assert list(out["length"]) == [1.0, 2.0, 4.0] and out["refitted"][0] > out["refitted"][1] > 0
    assert out["refitted"][-1] == pytest.approx(ridge.errors(1000.0)["rmse"])


def test_residual_stack_fits_the_second_model_on_the_in_sample_residual():
    X, data = toy()
    rows = np.arange(len(data))
    stack = lr.ResidualStack(LinearRegression(), LinearRegression(), lr._Rows(X[:, :2]), lr._Rows(X[:, 2:]))
    stack.fit(rows, data.energy)
    residual = data.energy - stack.first_.predict(X[:, :2])
    np.testing.assert_allclose(stack.second_.predict(X[:, 2:]),
                               LinearRegression().fit(X[:, 2:], residual).predict(X[:, 2:]))
    np.testing.assert_allclose(stack.predict(rows), stack.first_.predict(X[:, :2]) + stack.second_.predict(X[:, 2:]))


def test_the_thesis_headline_and_its_per_density_table_are_different_models():
    # one model's per-density RMSEs would pool to the headline; the table pools to 58.6 meV, not 49.8
    assert lr.thesis_per_density_pooled_rmse() == pytest.approx(58.64, abs=0.01)
    assert lr.thesis_per_density_pooled_rmse() > lr.THESIS["scattering"][1] + 5


def test_verdict_needs_two_standard_errors():
    assert lr.verdict({"mean": -3.0, "sem": 1.0}) == "lower than"
    assert lr.verdict({"mean": 3.0, "sem": 1.0}) == "higher than"
    assert lr.verdict({"mean": -1.5, "sem": 1.0}) == "within fold noise of"


def test_error_rows_end_with_the_thesis_rows():
    X, data = toy()
    res = {"m": CVResult(data.energy, data.energy + 0.003, data.run, np.zeros(5))}
    header, rows = lr.error_rows(lr.error_table(res, data), data.densities)
    assert len(header) == len(rows[0]) == 1 + len(data.densities) + 4
    assert rows[0][1] == "3.0 / 3.0" and rows[-1][-3] == "49.8" and rows[-2][1] == "49.6 / 64.0"
def test_wavelet_guard_rejects_wavelets_wider_than_half_the_smallest_cell():
    from ase import Atoms

    cells = [Atoms("C", positions=[[0, 0, 0]], cell=[s] * 3, pbc=True) for s in (13.0, 17.0)]
    assert lr.check_wavelets_fit_cells(cells, [0, 1, 2, 3], 0.8) == pytest.approx(6.5)  # 6.4 Å fits
    with pytest.raises(ValueError, match=r"keep j <= 3"):
        lr.check_wavelets_fit_cells(cells, [0, 1, 2, 3, 4], 0.8)
    with pytest.warns(UserWarning, match="wider than half"):
        lr.check_wavelets_fit_cells(cells, [0, 3.5], 0.8, action="warn")


def test_coefficient_scales_use_the_largest_j_of_each_coefficient():
    from localbook.scattering3d import CoefficientLabel as C

    labels = [C(0, "ones", 1.0), C(1, "ones", 1.0, 0, 1.0), C(2, "ones", 2.0, 1, 0.5, 1, 2.0)]
    s = lr.coefficient_scales(labels, 0.8)
    assert np.isnan(s[0]) and s[1] == pytest.approx(1.6) and s[2] == pytest.approx(3.2)


def test_reference_rows_print_rounding_as_a_bound():
    from localbook.atoms.longrange import reference_rows
    rows = reference_rows([{"structure": "a", "variant": "rsscs", "ours": -1.0, "pymbd": -1.0, "difference": -3.9e-13},
                           {"structure": "b", "variant": "plain", "ours": -2.0, "pymbd": -2.0, "difference": 6.5e-8}])
    assert [r[-1] for r in rows] == ["< 1e-10", "6.5e-08"]


def test_curve_trend_and_refit_sentence_follow_the_numbers():
    assert lr.curve_trend(100.0, 80.0) == "still falls by 20 %"
    assert lr.curve_trend(100.0, 97.0) == "is flat to within 5 %"
    assert lr.curve_trend(100.0, 110.0) == "rises by 10 %"
    with pytest.raises(ValueError):
        lr.curve_trend(0.0, 1.0)
    lengths = np.array([1.0, 2.0, 4.0])
    better_short = lr.refit_sentence({"length": lengths, "refitted": np.array([90.0, 60.0, 70.0])})
    assert "up to 2.00 Å reaches 60.0 meV" in better_short and "(70.0)" in better_short
    assert "no better" in lr.refit_sentence({"length": lengths, "refitted": np.array([90.0, 60.0, 59.0])})
    assert "no better" in lr.refit_sentence({"length": lengths, "refitted": np.array([90.0, 59.9, 60.0])})
