import numpy as np
import pytest
import torch
from ase.build import bulk

from localbook.atoms.soap import SparseSOAPRegressor, cur_select, soap_environments


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
    model = SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=[1e-6, 1e-2, 1e2]).fit(train, y, groups=groups)
    assert model.alpha_ in (1e-6, 1e-2, 1e2) and len(model.cv_rmse_) == 3
    assert model.alpha_ == [1e-6, 1e-2, 1e2][int(np.argmin(model.cv_rmse_))]
    with pytest.raises(ValueError, match="needs groups"):
        SparseSOAPRegressor(soaps=soaps, n_sparse=20, alpha=[1e-6, 1e-2]).fit(train, y)


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
