"""Tests of the sketch RNN (localbook.art.sketch): stroke formats, the mixture-density loss, sampling."""
import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from localbook.art import sketch
from localbook.art.sketch import (SketchCompleter, SketchConfig, SketchRNN, complete, mixture_nll, pen_nll,
                                  sample, stroke3_to_stroke5, stroke3_to_strokes, stroke5_to_stroke3,
                                  strokes_to_stroke3)


def _random_strokes(rng, n_strokes=4, integer=False):
    out = []
    for _ in range(n_strokes):
        k = int(rng.integers(1, 7))
        pts = rng.integers(-50, 150, size=(k, 2)) if integer else rng.normal(50, 30, size=(k, 2))
        out.append(pts.astype(np.float64))
    return out


def test_round_trip_exact_for_integer_points():
    rng = np.random.default_rng(0)
    strokes = _random_strokes(rng, 5, integer=True)
    s3 = strokes_to_stroke3(strokes, origin=(3, -2))
    assert s3.dtype == np.float32 and s3.shape == (sum(len(s) for s in strokes), 3)
    back = stroke3_to_strokes(s3, origin=(3, -2))
    assert len(back) == len(strokes)
    for a, b in zip(strokes, back):
        np.testing.assert_array_equal(a, b)


def test_round_trip_float_points_and_pen_column():
    rng = np.random.default_rng(1)
    strokes = _random_strokes(rng, 3)
    s3 = strokes_to_stroke3(strokes)
    ends = np.cumsum([len(s) for s in strokes]) - 1
    np.testing.assert_array_equal(np.flatnonzero(s3[:, 2]), ends)
    np.testing.assert_allclose(s3[0, :2], strokes[0][0], rtol=1e-6)
    for a, b in zip(strokes, stroke3_to_strokes(s3)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    # stroke-3 -> strokes -> stroke-3 is exact as well
    np.testing.assert_allclose(strokes_to_stroke3(stroke3_to_strokes(s3)), s3, atol=1e-5)


def test_unfinished_last_stroke_and_bad_input():
    s3 = np.array([[1, 1, 0], [1, 0, 1], [2, 2, 0], [1, 1, 0]], np.float32)
    back = stroke3_to_strokes(s3)
    assert [len(b) for b in back] == [2, 2]
    with pytest.raises(ValueError, match="empty"):
        strokes_to_stroke3([])
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        strokes_to_stroke3([np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        stroke3_to_strokes(np.zeros((4, 2)))


def test_stroke5_padding_and_inverse():
    seqs = [np.array([[1, 2, 0], [3, 4, 1]], np.float32), np.array([[5, 6, 1]], np.float32)]
    x, lengths = stroke3_to_stroke5(seqs, max_len=4)
    assert x.shape == (2, 5, 5) and lengths.tolist() == [2, 1]
    np.testing.assert_array_equal(x[0, 0].numpy(), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(x[0, 1].numpy(), [1, 2, 1, 0, 0])
    np.testing.assert_array_equal(x[0, 2].numpy(), [3, 4, 0, 1, 0])
    np.testing.assert_array_equal(x[1, 2:].numpy(), np.tile([0, 0, 0, 0, 1], (3, 1)))
    for s, row in zip(seqs, x):
        np.testing.assert_array_equal(stroke5_to_stroke3(row[1:]), s)
    with pytest.raises(ValueError, match="max_len"):
        stroke3_to_stroke5(seqs, max_len=1)


def test_mixture_nll_matches_scipy():
    g = torch.Generator().manual_seed(0)
    B, M = 7, 5
    logit_pi, mx, my = (torch.randn(B, M, generator=g, dtype=torch.float64) for _ in range(3))
    lsx, lsy = (0.5 * torch.randn(B, M, generator=g, dtype=torch.float64) for _ in range(2))
    rho = torch.tanh(torch.randn(B, M, generator=g, dtype=torch.float64))
    dx, dy = torch.randn(B, generator=g, dtype=torch.float64), torch.randn(B, generator=g, dtype=torch.float64)
    got = mixture_nll(logit_pi, mx, my, lsx, lsy, rho, dx, dy).numpy()
    pi = torch.softmax(logit_pi, -1).numpy()
    for b in range(B):
        p = 0.0
        for j in range(M):
            sx, sy, r = np.exp(lsx[b, j].item()), np.exp(lsy[b, j].item()), rho[b, j].item()
            cov = [[sx ** 2, r * sx * sy], [r * sx * sy, sy ** 2]]
            p += pi[b, j] * multivariate_normal([mx[b, j].item(), my[b, j].item()], cov).pdf([dx[b], dy[b]])
        assert got[b] == pytest.approx(-np.log(p), rel=1e-9)


def test_pen_nll_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    onehot = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    expected = torch.nn.functional.cross_entropy(logits, onehot.argmax(-1), reduction="none")
    torch.testing.assert_close(pen_nll(logits, onehot), expected)


def _tiny_model(seed=0):
    torch.manual_seed(seed)
    return SketchRNN(SketchConfig(enc_hidden=8, dec_hidden=16, z_dim=4, n_mixtures=3, max_len=20), scale=2.0)


def test_losses_ignore_padding_beyond_lengths():
    model = _tiny_model().eval()
    rng = np.random.default_rng(0)
    seqs = [strokes_to_stroke3(_random_strokes(rng, 2)) / np.float32([30, 30, 1]) for _ in range(3)]
    x, lengths = stroke3_to_stroke5(seqs, max_len=20)
    a = model.losses(x, lengths, sample_z=False)
    # the per-point NLL does not depend on how much padding follows
    x2, l2 = stroke3_to_stroke5(seqs, max_len=15)
    b = model.losses(x2, l2, sample_z=False)
    assert a["nll_per_point"].item() == pytest.approx(b["nll_per_point"].item(), rel=1e-5)
    assert a["L_R"].item() == pytest.approx((a["L_s"] + a["L_p"]).item())


def test_training_reduces_loss():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    seqs = [np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1]], np.float32) + rng.normal(0, 0.05, (3, 3)).astype(np.float32)
            * np.float32([1, 1, 0]) for _ in range(32)]
    rows = sketch.train(model, seqs, seqs[:8], steps=60, batch_size=16, lr=1e-2, eval_every=30, progress=False)
    vals = [r["L_R"] for r in rows if r["split"] == "val"]
    first = sketch.evaluate_nll(_tiny_model(), seqs[:8])["L_R"]
    assert vals[-1] < 0.5 * first


def test_sampling_is_seeded_and_completion_returns_only_new_points():
    model = _tiny_model()
    a = sample(model, 3, n_points=10, temperature=0.7, seed=5)
    b = sample(model, 3, n_points=10, temperature=0.7, seed=5)
    assert len(a) == 3 and all(x.shape[1] == 3 and len(x) <= 10 for x in a)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    prefix = np.array([[0.5, 0.5, 0], [1, 0, 1], [0, 1, 0]], np.float32)
    comp = SketchCompleter(model, device="cpu")
    out = comp(prefix, n_points=6, temperature=0.5, seed=1)
    assert out.dtype == np.float32 and out.ndim == 2 and out.shape[1] == 3 and len(out) <= 6
    np.testing.assert_array_equal(out, comp(prefix, 6, 0.5, 1))
    assert comp(prefix, 0, 0.5, 1).shape == (0, 3)
    # batched completion of prefixes of different lengths equals one-by-one completion's first step state:
    # the decoder state after a short prefix in a padded batch is the same as alone (packed sequences)
    short = prefix[:1]
    with torch.no_grad():
        both = complete(model, [prefix, short], n_points=1, temperature=1e-4, seed=0)
        alone = complete(model, [short], n_points=1, temperature=1e-4, seed=0)
    np.testing.assert_allclose(both[1][:, :2], alone[0][:, :2], atol=1e-4)


def test_split_strokes():
    s3 = strokes_to_stroke3([np.zeros((2, 2)), np.ones((3, 2)), np.full((1, 2), 2.0)])
    prefix, rest = sketch.split_strokes(s3, 2)
    assert len(prefix) == 5 and len(rest) == 1
    np.testing.assert_array_equal(np.concatenate([prefix, rest]), s3)
    with pytest.raises(ValueError, match="n_strokes"):
        sketch.split_strokes(s3, 4)


def test_completer_answers_at_least_min_points():
    model = _tiny_model()
    with torch.no_grad():  # make the end-of-sketch state overwhelmingly likely
        model.output.bias[-1] = 50.0
    prefix = np.array([[0.5, 0.5, 0], [1, 0, 1]], np.float32)
    assert len(complete(model, [prefix], 5, 0.5, seed=0)[0]) == 0
    comp = SketchCompleter(model, device="cpu", min_points=2)
    out = comp(prefix, 5, 0.5, 0)
    assert len(out) == 2
    assert len(comp(np.zeros((0, 3), np.float32), 5, 0.5, 0)) == 2


def test_baseline_nll_matches_direct_formula():
    rng = np.random.default_rng(0)
    seqs = [np.c_[rng.normal(0, 1, (5, 2)), [0, 0, 1, 0, 1]].astype(np.float32) for _ in range(20)]
    got = sketch.baseline_nll_per_point(seqs, seqs[:3])
    tr = np.concatenate(seqs).astype(np.float64)
    ev = np.concatenate(seqs[:3]).astype(np.float64)
    mean, cov = tr[:, :2].mean(0), np.cov(tr[:, :2].T)
    d = ev[:, :2] - mean
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    logn = -np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(cov)) - 0.5 * maha
    p = 0.4
    expected = -(logn + np.where(ev[:, 2] > 0.5, np.log(p), np.log(1 - p))).mean()
    assert got == pytest.approx(expected, rel=1e-9)


def test_reconstruct_and_plot_drawings():
    import matplotlib
    matplotlib.use("Agg")
    model = _tiny_model()
    seqs = [np.array([[1, 1, 0], [1, 0, 1]], np.float32), np.array([[2, 2, 1]], np.float32)]
    rec = sketch.reconstruct(model, seqs, temperature=0.2, seed=0, n_points=7)
    assert len(rec) == 2 and all(r.shape[1] == 3 and len(r) <= 7 for r in rec)
    fig = sketch.plot_drawings([[(seqs[0], "r"), (rec[0], "b")], [(seqs[1], "k")]], titles=["a", "b"], scale=10)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "a"
    assert len(fig.axes[0].lines) >= 1
