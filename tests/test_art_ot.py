"""Earth mover's distances: Sinkhorn (rounded or converged) >= exact EMD >= relaxed EMD, checked against POT."""
import numpy as np
import pytest
import torch

from localbook.art import ot


def clouds(seed, n=24, m=31, d=6):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.randn(m, d, generator=g, dtype=torch.float64) + 0.3)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("eps, n_iter", [(1e-3, 50), (1e-2, 50), (0.1, 200)])
def test_sinkhorn_geq_exact_emd_geq_relaxed(seed, eps, n_iter):
    x, y = clouds(seed)
    for cost in (ot.cosine_cost(x, y), ot.euclidean_cost(x, y)):
        emd = ot.exact_emd(cost)
        remd = float(ot.relaxed_emd(cost))
        res = ot.sinkhorn(cost, eps=eps, n_iter=n_iter)
        assert remd <= emd + 1e-9
        assert float(res.rounded_cost) >= emd - 1e-9
        assert float(res.objective) <= float(res.cost) + 1e-12  # the entropy term is non-negative


def test_converged_sinkhorn_cost_is_an_upper_bound_and_tends_to_emd():
    x, y = clouds(5)
    cost = ot.cosine_cost(x, y)
    emd = ot.exact_emd(cost)
    gaps = []
    for eps in (0.1, 0.03, 0.01):
        res = ot.sinkhorn(cost, eps=eps, n_iter=3000)
        assert res.marginal_error < 1e-6
        assert float(res.cost) >= emd - 1e-9
        gaps.append(float(res.cost) - emd)
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.02 * emd


def test_matches_pot():
    pot = pytest.importorskip("ot")
    x, y = clouds(7)
    cost = ot.cosine_cost(x, y)
    a, b = np.full(24, 1 / 24), np.full(31, 1 / 31)
    assert ot.exact_emd(cost) == pytest.approx(pot.emd2(a, b, cost.numpy()), abs=1e-10)
    plan = pot.bregman.sinkhorn_log(a, b, cost.numpy(), 0.05, numItermax=5000, stopThr=1e-13)
    np.testing.assert_allclose(ot.sinkhorn(cost, eps=0.05, n_iter=3000).plan.numpy(), plan, atol=1e-10)


def test_relaxed_emd_is_the_larger_mean_of_minima():
    cost = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.5, 4.0]])
    # rows: mean(0, 0.5) = 0.25; columns: mean(0, 0.5, 2) = 0.8333
    assert float(ot.relaxed_emd(cost)) == pytest.approx(2.5 / 3)
    x, _ = clouds(1)
    assert float(ot.relaxed_emd(ot.euclidean_cost(x, x))) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="matrix"):
        ot.relaxed_emd(torch.zeros(3))


def test_rounding_gives_a_feasible_plan():
    x, y = clouds(3)
    res = ot.sinkhorn(ot.cosine_cost(x, y), eps=1e-3, n_iter=5)
    a, b = torch.full((24,), 1 / 24, dtype=torch.float64), torch.full((31,), 1 / 31, dtype=torch.float64)
    p = ot.round_to_marginals(res.plan, a, b)
    assert float(p.min()) >= 0
    torch.testing.assert_close(p.sum(1), a)
    torch.testing.assert_close(p.sum(0), b)


def test_unconverged_sinkhorn_can_undercut_the_emd():
    # With the thesis' eps = 1e-3 and N = 50, the plan is far from feasible: its raw cost is not a bound.
    x, y = clouds(0)
    cost = ot.cosine_cost(x, y)
    res = ot.sinkhorn(cost, eps=1e-3, n_iter=50)
    assert res.marginal_error > 0.05
    assert float(res.cost) < ot.exact_emd(cost)


def test_gradients():
    x, y = clouds(2)
    x.requires_grad_(True)
    res = ot.sinkhorn(ot.cosine_cost(x, y), eps=0.05, n_iter=100)
    (gx,) = torch.autograd.grad(res.cost, x)
    x2 = x.detach().clone().requires_grad_(True)
    res2 = ot.sinkhorn(ot.cosine_cost(x2, y), eps=0.05, n_iter=100, grad_through_plan=True)
    (gx2,) = torch.autograd.grad(res2.cost, x2)
    assert torch.isfinite(gx).all() and gx.abs().sum() > 0
    # envelope-theorem gradient vs full autograd: same direction
    cos = float((gx * gx2).sum() / (gx.norm() * gx2.norm()))
    assert cos > 0.8
    with pytest.raises(ValueError, match="eps > 0"):
        ot.sinkhorn(torch.zeros(2, 2), eps=0)


def test_exact_emd_checks_its_inputs():
    with pytest.raises(ValueError, match="must be a matrix"):
        ot.exact_emd(np.zeros(5))
    with pytest.raises(ValueError, match="one weight per row"):
        ot.exact_emd(np.zeros((3, 4)), a=np.full(4, 0.25))
    with pytest.raises(ValueError, match="equal sums"):
        ot.exact_emd(np.zeros((2, 2)), a=np.array([0.5, 0.5]), b=np.array([0.5, 0.6]))
    with pytest.raises(RuntimeError, match="raise max_iter"):
        x, y = clouds(3)
        ot.exact_emd(ot.cosine_cost(x, y), max_iter=2)


def test_exact_emd_is_the_optimal_assignment_for_equal_sizes():
    """With n = m and uniform weights the optimum is a permutation (Birkhoff): SciPy's Hungarian solver is an
    independent oracle."""
    from scipy.optimize import linear_sum_assignment
    rng = np.random.default_rng(0)
    c = rng.random((40, 40))
    r, k = linear_sum_assignment(c)
    assert ot.exact_emd(c) == pytest.approx(c[r, k].mean(), abs=1e-12)
