"""The self-style recursion x_{t+1} = f(x_t, x_t) (thesis eq. 6.1), its metrics, and the optimisation methods."""
import numpy as np
import pytest
import torch

from localbook.art import style as st
from localbook.art.recursion import recursion_metrics, saturated_fraction, self_style_recursion
from localbook.art.vgg import load_vgg16


def test_metrics_of_a_fixed_point_are_zero():
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    seq = self_style_recursion(lambda s, c: c.clone(), x, 4)
    assert len(seq) == 5
    m = recursion_metrics(seq)
    assert set(m) == {"to_start", "to_previous", "saturated", "std"}
    assert np.all(m["to_start"] == 0) and np.all(m["to_previous"] == 0)


def test_metrics_of_a_drift_to_saturation():
    x = torch.full((1, 3, 4, 4), 0.5)
    # f doubles the distance to 1/2 and clamps: 0.5 +- 0.1 * 2^t saturates after a few steps
    x[..., ::2, :] += 0.1
    x[..., 1::2, :] -= 0.1
    seq = self_style_recursion(lambda s, c: (0.5 + 2 * (c - 0.5)).clamp(0, 1), x, 3)
    m = recursion_metrics(seq)
    np.testing.assert_allclose(m["to_start"], [0, 0.1, 0.3, 0.4], atol=1e-6)
    np.testing.assert_allclose(m["to_previous"], [0, 0.1, 0.2, 0.1], atol=1e-6)
    np.testing.assert_allclose(m["saturated"], [0, 0, 0, 1])
    assert saturated_fraction(seq[-1]) == 1.0 and saturated_fraction(seq[0]) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        recursion_metrics([x, torch.zeros(1, 3, 2, 2)])
    with pytest.raises(ValueError, match="n_iter"):
        self_style_recursion(lambda s, c: c, x, -1)


@pytest.fixture(scope="module")
def hed():
    return load_vgg16("hed")


def test_gram_matrix():
    f = torch.arange(8.0).view(1, 2, 2, 2)
    g = st.gram_matrix(f)
    assert g.shape == (1, 2, 2)
    assert float(g[0, 0, 1]) == pytest.approx((0 * 4 + 1 * 5 + 2 * 6 + 3 * 7) / 4)


def test_gatys_fixed_point_and_descent(hed):
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 6, generator=g), size=(32, 32), mode="bilinear")
    # started from the content, f(x, x) = x exactly: every loss term is zero, so is the gradient
    same = st.gatys(x, x, hed, steps=10, init="content", progress=False)
    torch.testing.assert_close(same.image, x)
    # started from noise, L-BFGS decreases the loss and brings the colours back
    out = st.gatys(x, x, hed, steps=20, init="noise", seed=1, progress=False)
    assert out.image.shape == x.shape and out.losses[-1] < 0.2 * out.losses[0]
    colour_error = (out.image.mean((2, 3)) - x.mean((2, 3))).abs().max()
    assert float(colour_error) < 0.1
    with pytest.raises(ValueError, match="init"):
        st.gatys(x, x, hed, steps=1, init="zeros")


@pytest.mark.parametrize("kind", ["remd", "sinkhorn"])
def test_strotss_runs_and_is_reproducible(hed, kind):
    g = torch.Generator().manual_seed(0)
    c, s = torch.rand(1, 3, 24, 24, generator=g), torch.rand(1, 3, 24, 24, generator=g)
    a = st.strotss(c, s, hed, kind, scales=2, steps=2, n_samples=48, seed=3, progress=False)
    b = st.strotss(c, s, hed, kind, scales=2, steps=2, n_samples=48, seed=3, progress=False)
    assert a.image.shape == c.shape and len(a.losses) == 4 and np.isfinite(a.losses).all()
    assert torch.equal(a.image, b.image)
    with pytest.raises(ValueError, match="ot_kind"):
        st.strotss(c, s, hed, "wasserstein")


def test_hypercolumns_and_self_similarity(hed):
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    coords = torch.rand(50, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    f = st.sample_hypercolumns(hed, x, coords, layers=("conv1_1", "conv2_1"))
    assert f.shape == (50, 3 + 64 + 128)
    assert float(st.self_similarity_loss(f, f)) == pytest.approx(0, abs=1e-6)
    assert float(st.self_similarity_loss(f, f.flip(0))) > 0
    assert float(st.moment_loss(f, f)) == pytest.approx(0, abs=1e-6)
