import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.kernel_ridge import KernelRidge
from sklearn.neighbors import KNeighborsRegressor

from localbook import curse


def test_targets_are_lipschitz_and_separable():
    f = curse.DistanceToPoints.random(3, seed=1)
    x = curse.sample_uniform(500, 3, seed=2)
    y = curse.sample_uniform(500, 3, seed=3)
    assert torch.all((f(x) - f(y)).abs() <= (x - y).norm(dim=1) + 1e-12)
    t = curse.SeparableTarget.random(6, 2, seed=0)
    x2 = x[:, [0, 1, 2]].repeat(1, 2)
    manual = sum(p(x2[:, b]) for b, p in zip(t.blocks, t.parts))
    assert torch.allclose(t(x2), manual)
    with pytest.raises(ValueError, match="divide"):
        curse.SeparableTarget.random(5, 2)
    with pytest.raises(ValueError, match=r"expected x of shape \(n, 3\)"):
        f(x[:, :2])


@pytest.mark.parametrize("k", [1, 5])
def test_knn_matches_scikit_learn(k):
    x, xt = curse.sample_uniform(300, 4, 0), curse.sample_uniform(50, 4, 1)
    y = curse.DistanceToPoints.random(4)(x)
    ours = curse.knn_regress(x, y, xt, k=k, batch_size=16)
    ref = KNeighborsRegressor(n_neighbors=k).fit(x.numpy(), y.numpy()).predict(xt.numpy())
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10)
    with pytest.raises(ValueError, match="k must be"):
        curse.knn_regress(x, y, xt, k=0)


def test_single_block_kernel_ridge_matches_scikit_learn():
    x, xt = curse.sample_uniform(200, 3, 0), curse.sample_uniform(40, 3, 1)
    y = curse.DistanceToPoints.random(3)(x)
    ours = curse.AdditiveKernelRidge(length_scale=2.0, alpha=1e-3).fit(x, y).predict(xt)
    scale = 2.0 * np.sqrt(3 / 6)
    k_train = np.exp(-cdist(x.numpy(), x.numpy()) / scale)
    k_test = np.exp(-cdist(xt.numpy(), x.numpy()) / scale)
    ref = KernelRidge(alpha=1e-3 * 200, kernel="precomputed").fit(k_train, y.numpy()).predict(k_test)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-6, atol=1e-9)


def test_additive_kernel_beats_global_kernel_on_a_separable_target():
    t = curse.SeparableTarget.random(8, 2, seed=0)
    sizes = [256, 1024]
    local = curse.krr_learning_curve(t, 8, sizes, blocks=t.blocks, n_test=500)
    global_ = curse.krr_learning_curve(t, 8, sizes, blocks=None, n_test=500)
    assert local[-1] < 0.5 * global_[-1]
    assert local[-1] < local[0]


def test_knn_rate_follows_minus_one_over_d():
    sizes = [256 * 2**i for i in range(5)]
    err = curse.knn_learning_curve(curse.DistanceToPoints.random(2, seed=2), 2, sizes, n_test=1000)
    slope, _ = curse.fit_power_law(sizes, err)
    assert -0.6 < slope < -0.4


def test_fit_power_law_recovers_a_power_law_and_rejects_bad_input():
    n = np.array([10, 100, 1000])
    slope, intercept = curse.fit_power_law(n, 3 * n ** -0.25)
    assert slope == pytest.approx(-0.25) and np.exp(intercept) == pytest.approx(3)
    with pytest.raises(ValueError):
        curse.fit_power_law([1], [1])


def test_curse_demo_ratio_grows_with_dimension():
    low, high = curse.curse_demo(1, 2000, n_test=200), curse.curse_demo(32, 2000, n_test=200)
    assert low["ratio"] < 0.01 < 0.5 < high["ratio"] < 1
    with pytest.raises(ValueError):
        curse.curse_demo(0, 10)
