"""Defect generation, Wigner-Seitz analysis and duplicates; the surrogate helpers of chapter 04."""
import numpy as np
import pytest

import localbook  # noqa: F401
from localbook.atoms import defects as D
from localbook import regression
from localbook.atoms.surrogate import local_contributions, make_descriptor

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


def test_local_contributions():
    x = np.random.default_rng(0).normal(size=(40, 5))
    y = x @ np.arange(5.0) + 2.0
    model = regression.make_linear("ridge").fit(x, y)
    s_i = local_contributions(model, x[:3])
    assert np.allclose(s_i, model.predict(x[:3]) - model.predict(np.zeros((1, 5))), atol=1e-6)
    with pytest.raises(ValueError, match="not registered"):
        make_descriptor("soap")


def _database(n=24, seed=0):
    """A tiny database: vacancies and dumbbells in 54-atom cells at two strains, with info as the builder's."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind, eps = ("V1", "I1")[i % 2], (0.0, 0.01)[(i // 2) % 2]
        at = D.make_defect(kind, A0, 3, rng, strain=eps)
        at.info = dict(kind=kind, strain=eps, n_cells=3, group=i // 4, n_vacancies=int(kind == "V1"),
                       n_interstitials=int(kind == "I1"))
        out.append(at)
    return out


def test_baselines_are_trivial_models():
    from localbook.atoms.surrogate import baseline_features, compare_on_folds, compare_on_split
    db = _database()
    y = np.array([1.0 + (s.info["kind"] == "I1") + 100 * s.info["strain"] for s in db]) + 0.01 * np.arange(len(db))
    cells = baseline_features(db, "cell mean")
    assert cells.shape == (len(db), 4) and np.allclose(cells.sum(1), 1)
    counts = baseline_features(db, "defect counts")
    assert counts.tolist()[:2] == [[1, 0], [0, 1]]
    res = compare_on_folds({"cells": cells, "counts": counts}, y, groups=[s.info["group"] for s in db],
                           model="ridge", n_splits=3)
    # the per-(kind, strain) mean explains everything but the small trend; the counts miss the strain
    assert res["cells"].errors()["rmse"] < 0.2 < res["counts"].errors()["rmse"]
    split = compare_on_split({"cells": cells}, y, np.arange(12), np.arange(12, 24), model="ridge")
    assert split["cells"]["errors"]["rmse"] < 0.3 and len(split["cells"]["y_pred"]) == 12
    with pytest.raises(ValueError, match="baseline"):
        baseline_features(db, "median")
    with pytest.raises(ValueError, match="rows"):
        compare_on_folds({"cells": cells[:5]}, y)


def test_formation_features_cancel_the_bulk(tmp_path):
    from localbook.atoms.surrogate import formation_features
    from localbook.data.cache import ArrayCache
    bulk = [D.bcc_supercell(A0, 3, eps) for eps in (0.0, 0.02)]
    for b, eps in zip(bulk, (0.0, 0.02)):
        b.info = dict(strain=eps, n_cells=3)
    x, seconds = formation_features(bulk, A0, "afs", cache=ArrayCache(tmp_path), n_max=4, l_max=3)
    assert x.shape == (2, 16) and seconds >= 0
    assert np.abs(x).max() < 1e-8
    with pytest.raises(ValueError, match="at least one"):
        formation_features([], A0)


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


def test_moments_do_not_depend_on_where_the_cluster_sits():
    """A spread-out cluster moved by lattice vectors (across the boundary) keeps its principal moments."""
    rng = np.random.default_rng(5)
    for kind in ("I4", "V4", "I3"):
        at = D.make_defect(kind, A0, 4, rng, shell=1.42)
        m = D.defect_moments(at, A0, 4)
        for shift in ([A0, 0, 0], [2 * A0, A0, 3 * A0], [A0 / 2] * 3, [1.5 * A0, 2.5 * A0, 0.5 * A0]):
            moved = at.copy()
            moved.translate(shift)
            moved.wrap()
            assert np.abs(D.defect_moments(moved, A0, 4) - m).max() < 1e-6
