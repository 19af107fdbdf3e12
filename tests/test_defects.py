"""Defect generation, Wigner-Seitz analysis and duplicates; the surrogate helpers of chapter 04."""
import numpy as np
import pytest

import localbook  # noqa: F401
from localbook.atoms import defects as D
from localbook.atoms.surrogate import errors, linear_model, local_contributions, make_descriptor

A0 = 2.8553


def test_make_defect_and_wigner_seitz():
    rng = np.random.default_rng(0)
    for kind in ("V1", "V3", "I2", "I4"):
        at = D.make_defect(kind, A0, 3, rng)
        k = int(kind[1])
        vac, inter = D.wigner_seitz(at, A0, 3)
        if kind[0] == "V":
            assert len(at) == 54 - k and len(vac) == k and len(inter) == 0
        else:
            assert len(at) == 54 + k and len(vac) == 0 and len(inter) == 2 * k   # k dumbbells
    with pytest.raises(ValueError, match="defect kind"):
        D.make_defect("X2", A0, 3, rng)


def test_moments_and_duplicates():
    rng = np.random.default_rng(1)
    at = D.make_defect("V2", A0, 3, rng)
    m = D.defect_moments(at, A0, 3)
    shifted = at.copy()
    shifted.translate((A0, 0, 0))
    shifted.wrap()
    assert np.allclose(D.defect_moments(shifted, A0, 3), m, atol=1e-3)
    dup = D.duplicates([1.0, 1.005, 1.5, 1.0], [[0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 2, 2]])
    assert dup.tolist() == [False, True, False, False]


def test_site_occupancy_follows_the_defect_not_the_strain():
    rng = np.random.default_rng(2)
    at = D.make_defect("I2", A0, 3, rng)
    occ = D.site_occupancy(at, A0, 3)
    assert occ.sum() == len(at) and (occ == 2).sum() == 2 and (occ == 0).sum() == 0
    strained = at.copy()
    strained.set_cell(at.cell[:] * 1.02, scale_atoms=True)
    assert np.array_equal(D.site_occupancy(strained, A0, 3, 0.02), occ)
    moved = at.copy()
    moved.positions[-1] += [A0 / 2, A0 / 2, A0 / 2]      # a dumbbell atom hops to the neighbouring site
    assert not np.array_equal(D.site_occupancy(moved, A0, 3), occ)


def test_surrogate_helpers():
    x = np.random.default_rng(0).normal(size=(40, 5))
    y = x @ np.arange(5.0) + 2.0
    model = linear_model("ridge").fit(x, y)
    assert errors(y, model.predict(x))["rmse"] < 1e-2
    s_i = local_contributions(model, x[:3])
    w_pred = model.predict(x[:3]) - model.predict(np.zeros((1, 5)))
    assert np.allclose(s_i, w_pred, atol=1e-8)
    with pytest.raises(ValueError, match="not registered"):
        make_descriptor("soap")
    with pytest.raises(ValueError, match="model kind"):
        linear_model("lasso")


def test_parity_plot_and_count_table():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from localbook.atoms.surrogate import count_table, parity_plot
    fig, ax = plt.subplots()
    err = parity_plot(ax, [1.0, 2.0, 3.0], [1.0, 2.0, 4.0], ["a", "b", "a"], "t")
    assert err["rmse"] == pytest.approx(np.sqrt(1 / 3)) and err["mae"] == pytest.approx(1 / 3)
    assert "RMSE 0.58" in ax.get_title()
    plt.close(fig)
    header, rows = count_table({"kind": np.array(["V1", "I2", "V1"]), "strain": np.array([0.0, 0.0, 0.01])})
    assert header == ["kind", "strain=0", "strain=0.01", "total"]
    assert rows == [["I2", 1, 0, 1], ["V1", 1, 1, 2]]


def test_formation_descriptor_vanishes_on_bulk():
    from localbook.atoms.surrogate import bulk_descriptor, formation_descriptor
    kw = dict(n_max=5, l_max=4)
    for eps in (0.0, 0.02):
        cell = D.bcc_supercell(A0, 3, eps)
        x = make_descriptor("afs", **kw).transform([cell])
        phi = bulk_descriptor(A0, eps, **kw)
        assert np.abs(formation_descriptor(x, [len(cell)], phi)).max() < 1e-9 * np.abs(x).max()
        assert np.abs(phi - bulk_descriptor(A0, 0.01, **kw)).max() > 1e-6   # strain changes the descriptor


def test_scattering_descriptor_thesis_shape_and_bulk_reference():
    """The registered scattering has the thesis' 90 coefficients; on a grid over the cell, the bulk reference
    of the same supercell cancels the crystal exactly, and a vacancy leaves a translation-invariant trace."""
    from localbook.atoms.surrogate import bulk_descriptor, formation_descriptor
    desc = make_descriptor("scattering").fit([D.bcc_supercell(A0, 1)])
    assert desc.n_features_out_ == 90
    kw = dict(L=2, J=(0.0, 1.0, 2.0), sigma=0.6, dtype="float64")
    cell = D.bcc_supercell(A0, 3, 0.01)
    x = make_descriptor("scattering", **kw).fit_transform([cell])
    phi = bulk_descriptor(A0, 0.01, "scattering", n_cells=3, **kw)
    assert np.abs(formation_descriptor(x, [len(cell)], phi)).max() < 1e-9 * np.abs(x).max()
    vac = cell.copy()
    del vac[5]
    shifted = vac.copy()
    shifted.positions += [0.37, -1.1, 2.3]
    shifted.wrap()
    xd = make_descriptor("scattering", **kw).fit_transform([vac, shifted])
    f = formation_descriptor(xd, [len(vac)] * 2, phi)
    assert np.abs(f[0]).max() > 1e-3 * np.abs(xd).max()                 # the vacancy is seen
    assert np.abs(f[0] - f[1]).max() < 1e-3 * np.abs(f[0]).max()        # wherever it sits
    with pytest.raises(ValueError, match="n_cells"):
        bulk_descriptor(A0, 0.0, "scattering", n_cells=0, **kw)


def test_scales_within_the_cell():
    from localbook.atoms.surrogate import scales_within
    labels = make_descriptor("scattering").fit([D.bcc_supercell(A0, 1)]).feature_labels_
    keep = scales_within(labels, 0.5, 4 * A0)                  # 11.4 Å: 2^j 0.5 <= 5.7, so j <= 3
    js = np.array([lab.j1 for lab in labels])
    assert keep.sum() == 70 and js[keep].max() == 3.0 and not keep[js >= 4].any()
    with pytest.raises(ValueError, match="positive"):
        scales_within(labels, 0.0, 10.0)


def test_split_curve_errors_fall_with_the_training_fraction():
    from localbook.atoms.surrogate import split_curve
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 30))
    y = x @ rng.normal(size=30) + 0.1 * rng.normal(size=120)
    curve = split_curve(x, y, (0.2, 0.8), n_repeats=4, kind="ridge")
    assert curve["rmse"].shape == (2, 4) and np.all(curve["mae"] <= curve["rmse"] + 1e-12)
    assert curve["rmse"][1].mean() < curve["rmse"][0].mean()
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        split_curve(x, y, (0.5, 1.0))
