"""Tests of the scattering patch network (thesis ch. 4): oversampled scattering, patch separation, the shared
training loop, DDP, the command line, loaders and figures."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from localbook.data.registry import DataUnavailableError
from localbook.images.augment import RandomTranslate, SubsampledTranslate
from localbook.images.patch_cnn import (EndToEndCNN, PatchNet, ScatteringLinear, ScatteringPatchLinear,
                                        evidence_decomposition_error, patch_evidence)
from localbook.images.scattering2d import (OversampledScattering2D, scattering_channels, scattering_features,
                                           select_orders)
from localbook.images.training import (TrainConfig, count_parameters, evaluate, recalibrate_batchnorm,
                                       topk_accuracy, train_classifier)

REPO = Path(__file__).resolve().parents[1]


def _images(n=6, c=1, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g)


def test_channel_count_matches_thesis_figure():
    # thesis fig. 4.1: J = 4, L = 8, order 2, colour images -> 1251 channels
    assert 3 * sum(scattering_channels(4, 8, 2).values()) == 1251
    assert sum(scattering_channels(2, 8, 1).values()) == 17


def test_frontend_shapes_and_oversampling_grid():
    x = _images()
    plain = OversampledScattering2D(2, (16, 16), oversampling=0)(x)
    over = OversampledScattering2D(2, (16, 16), oversampling=1)(x)
    assert plain.shape == (6, 81, 4, 4) and over.shape == (6, 81, 8, 8)
    # window (0, 0) is the plain scattering: even positions are exactly the non-oversampled transform
    torch.testing.assert_close(over[..., ::2, ::2], plain, rtol=0, atol=0)
    # odd positions are the scattering of the image shifted by stride = 2 px (checked away from the borders,
    # where the reflect padding of the shifted window and kymatio's own padding differ)
    shifted = OversampledScattering2D(2, (16, 16), oversampling=0)(torch.roll(x, (-2, -2), (2, 3)))
    torch.testing.assert_close(over[..., 1::2, 1::2][..., 1:-2, 1:-2], shifted[..., 1:-2, 1:-2],
                               atol=2e-3 * float(plain.abs().max()), rtol=0)
    # and they are not simply copies of the even ones
    assert (over[..., 1::2, 1::2] - plain).abs().max() > 1e-2


def test_frontend_colour_channels_and_errors():
    fe = OversampledScattering2D(1, (8, 8), L=4, max_order=1, oversampling=1)
    out = fe(_images(2, 3, 8))
    assert out.shape == (2, 3 * 5, 8, 8) and fe.output_shape(3) == (15, 8, 8) and fe.stride == 1
    with pytest.raises(ValueError, match="multiple of 2\\*\\*J"):
        OversampledScattering2D(2, (18, 16))
    with pytest.raises(ValueError, match="oversampling"):
        OversampledScattering2D(2, (16, 16), oversampling=3)
    with pytest.raises(ValueError, match="expects images"):
        fe(_images(2, 1, 16))


def test_select_orders_equals_order_one_transform():
    x = _images(3, 2)
    full = OversampledScattering2D(2, (16, 16), max_order=2, oversampling=1)(x)
    first = OversampledScattering2D(2, (16, 16), max_order=1, oversampling=1)(x)
    torch.testing.assert_close(select_orders(full, 2, J=2), first)
    with pytest.raises(ValueError, match="channels"):
        select_orders(full[:, :10], 2, J=2)


@pytest.mark.parametrize("patch", [1, 3])
def test_patch_separation_logits_are_mean_of_evidences(patch):
    torch.manual_seed(0)
    net = PatchNet(in_channels=7, n_classes=4, width=16, depth=3, patch=patch)
    s = torch.randn(32, 7, 6, 6)
    net.train()
    net(s)  # one step of batch statistics, so that the eval-mode batch norms are not the identity
    net.eval()
    ev = net.evidence(s)
    assert ev.shape == (32, 4, 6, 6)
    torch.testing.assert_close(net(s), ev.mean(dim=(2, 3)), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(patch_evidence(net, s, batch_size=5), ev)
    assert evidence_decomposition_error(net, s, batch_size=7) < 1e-5 and net.training is False
    # locality: changing the descriptor at u0 = (2, 3) changes the evidence only within the patch around it
    s2 = s.clone()
    s2[:, :, 2, 3] += 5.0
    changed = (net.evidence(s2) - ev).abs().amax(dim=(0, 1)) > 1e-6
    expected = torch.zeros(6, 6, dtype=torch.bool)
    r = patch // 2
    expected[2 - r:2 + r + 1, 3 - r:3 + r + 1] = True
    assert torch.equal(changed, expected)


def test_patch_separated_linear_ignores_where_descriptors_sit():
    torch.manual_seed(0)
    model = ScatteringPatchLinear(7, 3)
    s = torch.randn(16, 7, 5, 5)
    model.train()
    model(s)
    model.eval()
    shuffled = s.flatten(2)[..., torch.randperm(25)].reshape(16, 7, 5, 5)   # descriptors moved around
    torch.testing.assert_close(model(shuffled), model(s), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(s), model.evidence(s).mean(dim=(2, 3)))
    # the position-aware linear model does depend on where they sit
    linear = ScatteringLinear(7, (5, 5), 3).eval()
    assert (linear(shuffled) - linear(s)).abs().max() > 1e-3


def test_models_reject_wrong_input_and_bad_arguments():
    with pytest.raises(ValueError, match="patch must be 1"):
        PatchNet(5, 3, patch=2)
    with pytest.raises(ValueError, match="depth"):
        PatchNet(5, 3, depth=0)
    with pytest.raises(ValueError, match="expects a tensor"):
        PatchNet(5, 3, width=4, depth=1)(torch.zeros(2, 6, 3, 3))
    assert ScatteringLinear(5, (3, 3), 4)(torch.randn(2, 5, 3, 3)).shape == (2, 4)
    assert ScatteringPatchLinear(5, 4)(torch.randn(2, 5, 3, 3)).shape == (2, 4)
    assert EndToEndCNN(1, 10, 16)(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert count_parameters(PatchNet(5, 3, width=4, depth=1, patch=1)) == 2 * 5 + 5 * 4 + 4 + 2 * 4 + 4 * 3 + 3


def test_random_translate_moves_content_and_flips():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    g = torch.Generator().manual_seed(1)
    y = RandomTranslate(max_shift=2)(x, g)
    assert y.shape == x.shape
    for i in range(2):  # each output is a shifted window of the reflect-padded input
        xp = torch.nn.functional.pad(x[i:i + 1], (2, 2, 2, 2), mode="reflect")[0, 0]
        hits = [(a, b) for a in range(5) for b in range(5) if torch.equal(xp[a:a + 8, b:b + 8], y[i, 0])]
        assert len(hits) == 1
    flipped = RandomTranslate(max_shift=0, flip=True)(x.repeat(16, 1, 1, 1), torch.Generator().manual_seed(0))
    is_flip = [torch.equal(f, x[i % 2].flip(-1)) for i, f in enumerate(flipped)]
    is_same = [torch.equal(f, x[i % 2]) for i, f in enumerate(flipped)]
    assert all(a or b for a, b in zip(is_flip, is_same)) and any(is_flip) and any(is_same)


def test_topk_accuracy():
    logits = torch.tensor([[3.0, 2, 1, 0], [0, 1, 2, 3], [1, 3, 2, 0]])
    acc = topk_accuracy(logits, torch.tensor([0, 2, 3]), ks=(1, 2, 5))
    assert acc == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 5: pytest.approx(1.0)}


def test_training_learns_a_local_pattern():
    # class 1 images hold a bright 3 x 3 square at a random place, class 0 none: a patch-evidence task
    g = torch.Generator().manual_seed(0)
    n = 256
    y = torch.arange(n) % 2
    x = 0.1 * torch.rand(n, 1, 16, 16, generator=g)
    pos = torch.randint(0, 13, (n, 2), generator=g)
    for i in torch.nonzero(y).ravel().tolist():
        x[i, 0, pos[i, 0]:pos[i, 0] + 3, pos[i, 1]:pos[i, 1] + 3] = 1.0
    fe = OversampledScattering2D(2, (16, 16), max_order=1, oversampling=1)
    s = scattering_features(fe, x, batch_size=100, progress=False)
    torch.manual_seed(0)
    net = PatchNet(s.shape[1], 2, width=16, depth=2, patch=3)
    hist = train_classifier(net, (s[:192], y[:192]), TrainConfig(epochs=6, milestones=(0.6,), batch_size=32),
                            val=(s[128:192], y[128:192]), test=(s[192:], y[192:]), progress=False)
    assert hist.epoch == list(range(1, 7)) and hist.lr[0] == 0.1 and hist.lr[-1] == pytest.approx(0.01)
    assert hist.lr[3] == 0.1 and hist.lr[4] == pytest.approx(0.01)      # 0.6 x 6 epochs: the drop after epoch 4
    assert hist.train_loss[-1] < hist.train_loss[0] and len(hist.val_top1) == 6
    assert hist.final["top1"] >= 0.9
    # the validation curve is measured with recomputed batch-norm statistics: without, it sat at chance level
    assert hist.val_top1[-1] >= 0.9
    assert evaluate(net, (s[192:], y[192:]))[1] == pytest.approx(hist.final["top1"])


def test_recalibrate_batchnorm_gives_exact_statistics():
    torch.manual_seed(0)
    net = PatchNet(3, 2, width=4, depth=1, patch=1)
    s = 2.0 + 3.0 * torch.randn(50, 3, 4, 4)
    recalibrate_batchnorm(net, (s, torch.zeros(50, dtype=torch.long)), batch_size=10)
    bn = net.encoder[0]
    torch.testing.assert_close(bn.running_mean, s.mean(dim=(0, 2, 3)), atol=1e-5, rtol=1e-5)
    assert bn.momentum == 0.1 and net.training  # the mode is restored


def test_training_with_transform_and_augment_on_images():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 8, 8, generator=g), torch.arange(40) % 2
    fe = OversampledScattering2D(1, (8, 8), L=4, max_order=1, oversampling=0)
    torch.manual_seed(0)
    net = PatchNet(5, 2, width=4, depth=1, patch=1)
    hist = train_classifier(net, (x, y), TrainConfig(epochs=2, batch_size=16), test=(x, y), transform=fe,
                            augment=RandomTranslate(1, flip=True), progress=False)
    assert hist.val_top1 == [] and 0 <= hist.final["top1"] <= 1 and np.isnan(hist.final["val_top1"])
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="milestones"):
        TrainConfig(milestones=(30,))
    with pytest.raises(TypeError, match="tuple"):
        train_classifier(net, x, TrainConfig(epochs=1), progress=False)


def test_milestones_are_fractions_of_the_epochs():
    assert TrainConfig(epochs=100, milestones=(0.3, 0.6, 0.9)).milestone_epochs() == [30, 60, 90]
    assert TrainConfig(epochs=175, milestones=(100 / 175, 150 / 175)).milestone_epochs() == [100, 150]
    assert TrainConfig(epochs=3, milestones=(0.1, 0.2)).milestone_epochs() == [1]


def _write_folder(root: Path, split: str, n_per_class: int = 3):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("n01", "n02"):
        (root / split / c).mkdir(parents=True)
        for i in range(n_per_class):
            arr = rng.integers(0, 256, size=(20 + 3 * i, 30, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / split / c / f"img{i}.png")


def test_image_folder_loader(tmp_path):
    from localbook.data.image_folder import ImageFolderDataset

    _write_folder(tmp_path, "train")
    _write_folder(tmp_path, "val", 1)
    tr = ImageFolderDataset(tmp_path, "train", size=16, augment=True)
    va = ImageFolderDataset(tmp_path, "val", size=16)
    assert tr.classes == ("n01", "n02") and len(tr) == 6 and len(va) == 2
    x, label = tr[4]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    assert label == 1
    torch.testing.assert_close(va[0][0], va[0][0])  # validation crops are deterministic
    with pytest.raises(DataUnavailableError, match="does not exist"):
        ImageFolderDataset(tmp_path, "test")
    with pytest.raises(DataUnavailableError, match="--data-dir"):
        ImageFolderDataset(None)
    (tmp_path / "empty" / "c").mkdir(parents=True)
    with pytest.raises(DataUnavailableError, match="no images"):
        ImageFolderDataset(tmp_path, "empty")


def test_cli_loads_fashion_mnist_subsets():
    from localbook.images.train_patch_cnn import _load_data, build_parser

    try:
        args = build_parser().parse_args(["--n-train", "20", "--n-test", "10", "--out", "/tmp/unused"])
        train, test, c, shape, classes = _load_data(args)
    except DataUnavailableError as err:
        pytest.skip(f"Fashion-MNIST not installed: {err}")
    assert train[0].shape == (20, 1, 28, 28) and test[0].shape == (10, 1, 28, 28)
    assert c == 1 and shape == (28, 28) and len(classes) == 10
    assert torch.bincount(train[1]).tolist() == [2] * 10


@pytest.mark.slow
def test_ddp_two_cpu_ranks_end_with_identical_weights(tmp_path):
    """torchrun, 2 processes, gloo: after training both ranks hold bit-identical parameters and buffers."""
    from localbook.data.images import load_fashion_mnist

    try:
        load_fashion_mnist("test", n=10)
    except DataUnavailableError as err:
        pytest.skip(f"Fashion-MNIST not installed: {err}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "localbook.images.train_patch_cnn", "--n-train", "64", "--n-test", "20", "--width", "8",
           "--depth", "2", "--epochs", "2", "--milestones", "0.5", "--batch-size", "16", "--J", "2",
           "--oversampling", "1", "--out", str(tmp_path), "--save-every-rank", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert r0.keys() == r1.keys() and any("running_mean" in k for k in r0)
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"rank 0 and rank 1 differ in {k}"
    saved = torch.load(tmp_path / "model.pt")
    assert saved["world_size"] == 2 and (tmp_path / "history.json").is_file()
    # the run trained: the encoder weights moved away from any fresh initialisation with this seed
    torch.manual_seed(0)
    fresh = PatchNet(81, 10, 8, 2, 3).state_dict()
    assert not torch.equal(fresh["encoder.1.weight"], r0["encoder.1.weight"])


def test_plots_and_table_render():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from localbook.images.figures import (evidence_browser, pick_examples, plot_convergence, plot_evidence_maps,
                                          plot_scattering_example, show_evidence)
    from localbook.images.training import History

    ev = torch.randn(3, 10, 7, 7)
    fig = plot_evidence_maps(torch.rand(3, 1, 28, 28), ev, torch.tensor([0, 1, 2]), [str(i) for i in range(10)],
                             stride=4, n_show=3)
    assert len(fig.axes) == 3 * 3 + 1  # images, true and predicted evidences, colour bar
    h = History(epoch=[1, 2], lr=[0.1, 0.1], train_loss=[1.0, 0.5], train_top1=[0.5, 0.7], val_top1=[0.4, 0.6])
    fig2 = plot_convergence({"a": [h, h], "b": [h]})
    assert len(fig2.axes) == 2 and len(fig2.axes[1].lines) == 2
    fig3 = plot_scattering_example(torch.rand(1, 8, 8), torch.rand(5, 4, 4), oversampling=1, title="x")
    assert len(fig3.axes) == 3 and fig3.axes[1].images[0].get_array().shape == (2, 2)
    assert pick_examples(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 2, 0]), 1, 5).tolist() == [0, 1, 3]
    show_evidence(1, torch.rand(3, 1, 28, 28), ev, torch.tensor([0, 1, 2]), [str(i) for i in range(10)], stride=4)
    assert len(plt.gcf().axes) == 3 + 1
    with pytest.raises(IndexError, match="out of range"):
        show_evidence(3, torch.rand(3, 1, 28, 28), ev, torch.tensor([0, 1, 2]), list("0123456789"), stride=4)
    # the browser's callback is a named function: ipywidgets' interact refused a functools.partial in a browser
    browser = evidence_browser(torch.rand(3, 1, 28, 28), ev, torch.tensor([0, 1, 2]), list("0123456789"), stride=4)
    assert browser.__name__ == "show_test_image" and browser.widget.children[0].max == 2
    browser.widget.children[0].value = 2                                # moving the slider redraws, no error
    plt.close("all")


def test_subsampled_translate_is_plain_scattering_of_translated_image():
    x = _images(4)
    over = OversampledScattering2D(2, (16, 16), oversampling=1)(x)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    out = SubsampledTranslate(max_shift=1, step=2)(over, g1)
    ref = RandomTranslate(1)(over, g2)[..., ::2, ::2]
    assert out.shape == (4, 81, 4, 4)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    # with no shift it is the scattering without oversampling
    plain = OversampledScattering2D(2, (16, 16), oversampling=0)(x)
    torch.testing.assert_close(SubsampledTranslate(0, 2)(over), plain, rtol=0, atol=0)


def test_patch_cnn_variants_cover_the_thesis_ablations():
    from localbook.images.experiments import patch_cnn_variants

    x, y = _images(8, 1, 16), torch.arange(8) % 2
    s = OversampledScattering2D(2, (16, 16), oversampling=1)(x)
    feats, imgs = {k: (s, y) for k in ("train", "val", "test")}, {k: (x, y) for k in ("train", "val", "test")}
    kw = dict(in_channels=1, n_classes=2, J=2, max_order=2, oversampling=1, width=8, depth=2, patch=3, cnn_width=4,
              max_shift=1)
    main, abl = patch_cnn_variants(feats, imgs, **kw)
    assert list(main) == ["patch network", "scattering + linear, position-aware",
                          "scattering + linear, patch-separated", "end-to-end CNN (pixels)"]
    assert list(abl) == ["1x1 patch (one descriptor)", "order 2 removed", "order 2 removed, no oversampling",
                         "order 2 removed, width halved", "order 2 removed, depth halved"]
    no_o = abl["order 2 removed, no oversampling"]
    assert no_o.train[0].shape == (8, 17, 8, 8) and no_o.test[0].shape == (8, 17, 4, 4)
    assert no_o.augment(no_o.train[0]).shape == (8, 17, 4, 4)                  # trained on the coarse grid
    assert main["end-to-end CNN (pixels)"].augment.max_shift == 2                # 1 sample = 2 px
    assert main["patch network"].build()(s).shape == (8, 2)
    assert abl["order 2 removed"].build()(no_o.train[0]).shape == (8, 2)
    _, fewer = patch_cnn_variants(feats, imgs, **{**kw, "oversampling": 0, "depth": 1})
    assert list(fewer) == ["1x1 patch (one descriptor)", "order 2 removed", "order 2 removed, width halved"]


def test_cached_scattering_features_read_back_and_recomputed_when_the_code_changes(tmp_path, monkeypatch):
    from localbook import provenance
    from localbook.data.cache import ArrayCache
    from localbook.images import scattering2d

    cache, calls = ArrayCache(tmp_path), []
    real = scattering2d.scattering_features

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(scattering2d, "scattering_features", counted)
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    scattering = OversampledScattering2D(2, (16, 16), oversampling=0)
    first = scattering2d.cached_scattering_features(scattering, x, cache=cache)
    again = scattering2d.cached_scattering_features(scattering, x, cache=cache)
    assert len(calls) == 1 and torch.equal(first, again)
    half = scattering2d.cached_scattering_features(scattering, x, cache=cache, dtype=torch.float16)
    assert len(calls) == 2 and half.dtype == torch.float16  # the dtype is part of the key
    source = provenance.source_hash
    monkeypatch.setattr(provenance, "source_hash",
                        lambda *m: "0" * 64 if "localbook.images.scattering2d" in m else source(*m))
    scattering2d.cached_scattering_features(scattering, x, cache=cache)
    assert len(calls) == 3  # a change of the module's source is a miss, not a stale hit
