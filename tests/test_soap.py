import numpy as np
import pytest
import torch
from ase.build import bulk

from localbook.atoms.soap import SparseSOAPRegressor, coordinate_search, cur_select, soap_environments


def cells(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = bulk("C", "diamond", a=float(rng.uniform(3.6, 4.2)), cubic=True)
        a.rattle(0.15, seed=int(rng.integers(1 << 30)))
        out.append(a)
    return out


def test_environments_are_unit_and_rotation_invariant():
    a = cells(1)[0]
    p = soap_environments([a], r_cut=3.0, sigma=0.5, n_max=4, l_max=4)[0]
    assert p.shape[0] == len(a) and np.allclose(np.linalg.norm(p, axis=1), 1)
    b = a.copy()
    b.rotate(30, "z", rotate_cell=True)
    q = soap_environments([b], r_cut=3.0, sigma=0.5, n_max=4, l_max=4)[0]
    np.testing.assert_allclose(p, q, atol=1e-6)


def test_cur_picks_distinct_rows_and_spans_a_low_rank_matrix():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=g, dtype=torch.float64) @ torch.randn(3, 20, generator=g, dtype=torch.float64)
    idx = cur_select(x, 3)
    assert len(set(idx.tolist())) == 3
    # three rows of a rank-3 matrix chosen by CUR span all rows
    basis = torch.linalg.qr(x[idx].T).Q
    assert torch.allclose(x - (x @ basis) @ basis.T, torch.zeros_like(x), atol=1e-8)
    with pytest.raises(ValueError):
        cur_select(x, 0)


def _cur_by_explicit_projection(x, n_select, n_power=8):
    """The definition: project each chosen row's direction out of every row of the matrix."""
    x, c, v = x.clone(), x.T @ x, torch.ones(x.shape[1], dtype=x.dtype)
    chosen = []
    for _ in range(n_select):
        for _ in range(n_power):
            v = c @ v
            v = v / v.norm()
        leverage = (x @ v) ** 2
        leverage[chosen] = -1.0
        chosen.append(int(leverage.argmax()))
        row = x[chosen[-1]] / x[chosen[-1]].norm()
        x = x - (x @ row)[:, None] * row[None, :]
        p = torch.eye(len(row), dtype=x.dtype) - torch.outer(row, row)
        c = p @ c @ p
    return chosen


def test_cur_equals_the_explicit_projection():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 25, generator=g, dtype=torch.float64) * torch.linspace(3, 0.1, 25, dtype=torch.float64)
    assert cur_select(x, 20).tolist() == _cur_by_explicit_projection(x, 20)


def test_sparse_soap_learns_a_sum_of_local_energies():
    soaps = ({"r_cut": 3.0, "sigma": 0.5, "n_max": 4, "l_max": 4},)
    train, test = cells(30, 1), cells(8, 2)
    # a target that *is* a sum over atoms of a smooth function of the environment
    w = np.random.default_rng(3).normal(size=soap_environments(train[:1], **soaps[0])[0].shape[1])
    energy = lambda s: float(np.sum(soap_environments([s], **soaps[0])[0] @ w) ** 1)  # noqa: E731
    y_train, y_test = [energy(s) for s in train], [energy(s) for s in test]
    model = SparseSOAPRegressor(soaps=soaps, n_sparse=60, alpha=1e-8).fit(train, y_train)
    err = np.abs(model.predict(test) - np.array(y_test))
    assert err.mean() < 0.05 * np.std(y_test)
    assert model.atomic_energies(test[0]).sum() == pytest.approx(model.predict(test[:1])[0])
    with pytest.raises(TypeError):
        model.fit(train[0], y_train)


def test_alpha_is_chosen_by_leave_one_group_out():
    soaps = ({"r_cut": 3.0, "sigma": 0.5, "n_max": 3, "l_max": 3},)
    train = cells(16, 4)
    y = np.array([len(s) * -1.0 + 0.1 * np.random.default_rng(i).normal() for i, s in enumerate(train)])
    groups = np.repeat(np.arange(4), 4)
    grid = [1e-6, 1e-2, 1e2]
    model = SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=grid).fit(train, y, groups=groups)
    scores = {values[0]: rmse for values, rmse in model.cv_history_}
    assert sorted(scores) == grid and model.alpha_ == [min(scores, key=scores.get)]
    assert model.cv_rmse_ == pytest.approx(min(scores.values()))
    # the inner score is the leave-one-group-out RMSE of the same model fitted on the other groups
    value = model.alpha_[0]
    m = SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=value).fit(train, y)  # the same representatives
    m_train = SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=value)
    m_train.representatives_, m_train.k_mm_ = m.representatives_, m.k_mm_
    sq = 0.0
    for g in range(4):
        rows = np.flatnonzero(groups != g)
        d = m_train._design([train[i] for i in rows])
        coef = m_train._solve(d.T @ d, d.T @ torch.as_tensor(y[rows]), m_train._penalty([value], 0.0))
        test = np.flatnonzero(groups == g)
        sq += float(((m_train._design([train[i] for i in test]) @ coef).numpy() - y[test]) @
                    ((m_train._design([train[i] for i in test]) @ coef).numpy() - y[test]))
    assert model.cv_rmse_ == pytest.approx((sq / len(y)) ** 0.5, rel=1e-8)
    with pytest.raises(ValueError, match="needs groups"):
        SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=[1e-6, 1e-2]).fit(train, y)


def test_coordinate_search_finds_the_minimum_of_a_separable_score():
    grids = [[1, 2, 3, 4, 5], [10, 20, 30], [7]]
    values, best, history = coordinate_search(lambda v: (v[0] - 4) ** 2 + (v[1] - 10) ** 2 + v[2], grids)
    assert values == [4, 10, 7] and best == 7
    assert len(history) == len({tuple(v) for v, _ in history}) < 5 * 3  # each combination scored once


def long_range_cells(n, seed):
    """Cells whose energy is local (SOAP can learn it) plus a pair potential acting at 4-6 Å (beyond the 3 Å
    SOAP): the joint model must learn both."""
    from localbook.atoms.carbon import initial_cell

    rng = np.random.default_rng(seed)
    return [initial_cell(24, float(rng.uniform(1.0, 2.0)), seed=int(rng.integers(1 << 30))) for _ in range(n)]


def test_joint_soap_and_pair_model_learns_a_long_range_pair_term_that_soap_alone_cannot():
    from localbook.atoms.pair import PairPotentialFeatures, pair_distances

    soaps = ({"r_cut": 3.0, "sigma": 0.5, "n_max": 3, "l_max": 3},)
    structures = long_range_cells(60, 0)

    def target(a):
        r = pair_distances(a, 8.0)
        return -0.05 * len(a) + 0.5 * float(np.sum(0.02 * np.exp(-((r - 5.0) / 0.8) ** 2)))

    y = np.array([target(a) for a in structures])
    groups = np.arange(60) % 5
    train, test = np.flatnonzero(groups != 0), np.flatnonzero(groups == 0)
    fit = lambda model: model.fit([structures[i] for i in train], y[train], groups=groups[train])  # noqa: E731
    pair = PairPotentialFeatures(r_max=8.0, length_scale=1.0, n_gaussians=24)
    joint = fit(SparseSOAPRegressor(soaps=soaps, n_sparse=40, alpha=[1e-6, 1e-3, 1.0], pair=pair,
                                    pair_alpha=[1e-8, 1e-5, 1e-2, 1e1]))
    alone = fit(SparseSOAPRegressor(soaps=soaps, n_sparse=40, alpha=[1e-6, 1e-3, 1.0]))
    rmse = lambda m: np.sqrt(np.mean((m.predict([structures[i] for i in test]) - y[test]) ** 2))  # noqa: E731
    assert rmse(joint) < 0.3 * rmse(alone)
    assert joint.cv_rmse_ < alone.cv_rmse_
    r = np.linspace(3.5, 6.5, 7)
    np.testing.assert_allclose(joint.pair_potential(r), 0.02 * np.exp(-((r - 5.0) / 0.8) ** 2), atol=4e-3)
    assert np.allclose(joint.pair_energy(structures[:3]) + 0, joint.pair_.transform(structures[:3]) @ joint.pair_coef_)
    with pytest.raises(ValueError, match="no pair term"):
        alone.pair_potential(r)


def test_each_kernel_gets_its_own_regularisation():
    soaps = ({"r_cut": 2.5, "sigma": 0.5, "n_max": 3, "l_max": 3}, {"r_cut": 4.0, "sigma": 1.0, "n_max": 3, "l_max": 3})
    train = cells(20, 6)
    y = np.array([-1.0 * len(s) + float(np.sum(soap_environments([s], **soaps[0])[0][:, 0])) for s in train])
    model = SparseSOAPRegressor(soaps=soaps, n_sparse=15, alpha=[1e-8, 1e-4, 1.0, 1e4])
    model.fit(train, y, groups=np.arange(20) % 4)
    assert len(model.alpha_) == 2 and model.pair_alpha_ is None
    assert {tuple(v) for v, _ in model.cv_history_} >= {(a, model.alpha_[1]) for a in [1e-8, 1e-4, 1.0, 1e4]}


def test_n_candidates_limits_the_pool_cur_chooses_from():
    soaps = ({"r_cut": 3.0, "sigma": 0.5, "n_max": 3, "l_max": 3},)
    train = cells(6, 5)
    y = np.array([-1.0 * len(s) for s in train])
    envs = np.concatenate(soap_environments(train, **soaps[0]))
    model = SparseSOAPRegressor(soaps=soaps, n_sparse=5, alpha=1e-3, n_candidates=12).fit(train, y)
    pool = envs[np.linspace(0, len(envs) - 1, 12).astype(int)]
    reps = model.representatives_[0].numpy()
    assert all(np.isclose(pool, r).all(1).any() for r in reps)
    full = SparseSOAPRegressor(soaps=soaps, n_sparse=5, alpha=1e-3).fit(train, y)
    assert not np.allclose(full.representatives_[0].numpy(), reps)
