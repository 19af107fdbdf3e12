"""Tests of the patch k-NN chapter's modules: patches and whitening (app. B.1), the convolutional k-NN
encoding (app. B.2), the classifier pipeline and the whole-image k-NN baseline."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from localbook.images import baselines, figures, knn_encoding, patch_knn, training
from localbook.images import whitening as wh


def _smooth_images(n=12, c=1, size=14, seed=0):
    """Correlated random images in [0, 1] (blurred noise), so that the patch covariance is far from I."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, size + 4, size + 4, generator=g, dtype=torch.float64)
    kernel = torch.ones(c, 1, 3, 3, dtype=torch.float64) / 9
    x = torch.nn.functional.conv2d(x, kernel, groups=c)[..., :size, :size]
    return (x - x.min()) / (x.max() - x.min())


def test_extract_and_sample_patches_are_patches_of_the_images():
    x = _smooth_images(n=3, c=2, size=9)
    p = wh.extract_patches(x, 4)
    assert p.shape == (3, 36, 2 * 16)
    assert torch.equal(p[1, 7].reshape(2, 4, 4), x[1, :, 1:5, 1:5])      # 6 x 6 locations: 7 = row 1, column 1
    s = wh.sample_patches(x, 50, 4, rng=3)
    assert s.shape == (50, 2, 4, 4)
    all_patches = p.reshape(-1, 32)
    assert all(bool((all_patches == q.reshape(1, -1)).all(1).any()) for q in s)
    assert torch.equal(s, wh.sample_patches(x, 50, 4, rng=3))
    with pytest.raises(ValueError, match="patch_size"):
        wh.sample_patches(x, 5, 10)
    # distinct contents, even when most positions show the same uniform background
    bg = torch.zeros(20, 1, 10, 10)
    bg[:, :, :3, :3] = torch.rand(20, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    d = wh.sample_patches(bg, 100, 3, rng=0, distinct=True)
    assert len(torch.unique(d.reshape(100, -1), dim=0)) == 100
    assert len(torch.unique(wh.sample_patches(bg, 100, 3, rng=0).reshape(100, -1), dim=0)) < 100
    with pytest.raises(ValueError, match="distinct"):
        wh.sample_patches(bg[:1], 30, 3, distinct=True)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        wh.extract_patches(x[0], 3)


def test_pca_and_zca_whitening_give_the_mahalanobis_distance():
    x = _smooth_images(n=20, size=12)
    patches = wh.extract_patches(x, 5).reshape(-1, 25)
    zca = wh.PatchWhitening(reg=1e-3, method="zca").fit(patches)
    pca = wh.PatchWhitening(reg=1e-3, method="pca").fit(patches)
    a, b = patches[:200], patches[200:400]
    d_zca = (zca.transform(a) - zca.transform(b)).norm(dim=1)
    d_pca = (pca.transform(a) - pca.transform(b)).norm(dim=1)
    d_mah = zca.mahalanobis(a, b)
    torch.testing.assert_close(d_zca, d_mah, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(d_pca, d_mah, rtol=1e-8, atol=1e-10)
    # ZCA is symmetric and equals (Sigma + reg I)^(-1/2); PCA is not symmetric
    w = zca.operator_
    torch.testing.assert_close(w @ w @ (zca.covariance_ + 1e-3 * torch.eye(25, dtype=torch.float64)),
                               torch.eye(25, dtype=torch.float64), rtol=0, atol=1e-8)
    assert torch.allclose(w, w.T) and not torch.allclose(pca.operator_, pca.operator_.T)
    # the whitened patches' covariance has the spectrum Lambda / (Lambda + reg)
    white = zca.transform(patches)
    cov = torch.cov(white.T, correction=0)
    torch.testing.assert_close(torch.linalg.eigvalsh(cov).flip(0), zca.whitened_spectrum(), rtol=1e-6, atol=1e-9)
    # no whitening: the plain Euclidean distance
    none = wh.PatchWhitening(reg=1e-3, method="none").fit(patches)
    torch.testing.assert_close((none.transform(a) - none.transform(b)).norm(dim=1), (a - b).norm(dim=1))


def test_distance_agreement_on_real_patches():
    x = _smooth_images(n=12, size=12).float()
    check = wh.distance_agreement(x, 4, 1e-3, n_pairs=50, rng=1)
    assert check["dim"] == 16 and check["largest_eigenvalue"] > check["smallest_eigenvalue"] > 0
    assert check["zca_vs_mahalanobis"] < 1e-9 and check["pca_vs_zca"] < 1e-9 and check["zca"].method == "zca"


def test_fit_images_uses_every_patch():
    x = _smooth_images(n=7, c=3, size=10)
    w1 = wh.PatchWhitening(1e-2).fit_images(x, 3, batch_size=2)
    w2 = wh.PatchWhitening(1e-2).fit(wh.extract_patches(x, 3).reshape(-1, 27))
    torch.testing.assert_close(w1.mean_, w2.mean_)
    torch.testing.assert_close(w1.covariance_, w2.covariance_, rtol=1e-9, atol=1e-12)
    assert w1.patch_shape_ == (3, 3, 3)


def test_whitening_errors_are_clear():
    with pytest.raises(ValueError, match="method"):
        wh.PatchWhitening(method="sphere")
    with pytest.raises(ValueError, match="reg=0"):
        wh.PatchWhitening(reg=0.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        wh.PatchWhitening().transform(torch.zeros(2, 4))
    w = wh.PatchWhitening().fit(torch.rand(50, 9))
    with pytest.raises(ValueError, match="fitted on 9"):
        w.transform(torch.rand(3, 16))


@pytest.mark.parametrize("method", ["zca", "none"])
@pytest.mark.parametrize("channels", [1, 3])
def test_convolutional_encoding_equals_bruteforce_knn(method, channels):
    x = _smooth_images(n=4, c=channels, size=11, seed=1)
    train = _smooth_images(n=10, c=channels, size=11, seed=2)
    whitening = wh.PatchWhitening(1e-3, method).fit_images(train, 4)
    dictionary = wh.sample_patches(train, 40, 4, rng=0, distinct=True)
    k = 16
    enc = knn_encoding.KNNPatchEncoder(dictionary, whitening, n_neighbors=k, dtype=torch.float64)
    phi = enc.encode(x)
    ref = knn_encoding.bruteforce_knn_encoding(x, dictionary, whitening, k)
    assert phi.shape == ref.shape == (4, 80, 8, 8)
    assert torch.equal(phi, ref)
    # exactly K ones per location in each half
    assert torch.equal(phi[:, :40].sum(1), torch.full((4, 8, 8), float(k), dtype=torch.float64))
    assert torch.equal(phi[:, 40:].sum(1), torch.full((4, 8, 8), float(k), dtype=torch.float64))


def test_encoding_in_float32_matches_exact_search_almost_everywhere():
    x = _smooth_images(n=3, size=12, seed=5)
    train = _smooth_images(n=10, size=12, seed=6)
    whitening = wh.PatchWhitening(1e-3).fit_images(train, 5)
    dictionary = wh.sample_patches(train, 64, 5, rng=1, distinct=True)
    exact = knn_encoding.bruteforce_knn_encoding(x, dictionary, whitening, 26)              # float64
    phi = knn_encoding.KNNPatchEncoder(dictionary, whitening).encode(x.float())
    assert phi.dtype == torch.float32
    assert (phi != exact).float().mean() < 1e-4          # only near-ties may flip in single precision


def test_duplicate_atoms_give_fewer_than_k_ones_at_a_tie():
    x = _smooth_images(n=2, size=8, seed=7)
    whitening = wh.PatchWhitening(1e-3).fit_images(x, 3)
    atoms = wh.sample_patches(x, 10, 3, rng=0)
    enc = knn_encoding.KNNPatchEncoder(torch.cat([atoms, atoms]), whitening, n_neighbors=3, dtype=torch.float64)
    phi = enc.encode(x)
    counts = phi[:, :20].sum(1)
    assert bool((counts <= 3).all()) and bool((counts == 2).any())   # pairs tie: 2 ones, never 3 from a pair


def test_pooled_features_are_window_sums():
    x = _smooth_images(n=2, size=14, seed=3).float()
    whitening = wh.PatchWhitening(1e-3).fit_images(x, 4)
    enc = knn_encoding.KNNPatchEncoder(wh.sample_patches(x, 30, 4, rng=2), whitening, pool_size=3, pool_stride=2)
    phi = enc.encode(x)                                             # (2, 60, 11, 11)
    big = enc(x)
    assert big.shape == (2, 60, 5, 5) and enc.out_channels == 60
    torch.testing.assert_close(big[:, :, 1, 2], phi[:, :, 2:5, 4:7].sum(dim=(2, 3)))
    assert torch.equal(big, big.round())
    feats = knn_encoding.encode_dataset(enc, x, batch_size=1)
    assert feats.dtype == torch.uint8 and torch.equal(feats.float(), big)       # integer sums <= 9: exact bytes
    soft = knn_encoding.KNNPatchEncoder(enc_atoms := wh.sample_patches(x, 30, 4, rng=2), whitening, pool_size=3,
                                        pool_stride=2, assignment="soft")
    assert knn_encoding.encode_dataset(soft, x).dtype == torch.float16
    into = torch.zeros(2, 60, 5, 5, dtype=torch.uint8)
    assert knn_encoding.encode_dataset(enc, x, batch_size=1, out=into) is into and torch.equal(into.float(), big)
    assert len(enc_atoms) == 30
    # windows of 256 codes or more are counted without overflow
    big_x = _smooth_images(n=2, size=19, seed=3).float()
    wide = knn_encoding.KNNPatchEncoder(enc_atoms, whitening, n_neighbors=28, pool_size=16, pool_stride=1)
    phi16 = wide(big_x)
    assert phi16.shape == (2, 60, 1, 1) and float(phi16.max()) == 256
    assert torch.equal(phi16, wide.encode(big_x).sum(dim=(2, 3), keepdim=True))


def test_soft_assignment_is_the_sigmoid_of_the_distance_margin():
    x = _smooth_images(n=2, size=10, seed=4)
    whitening = wh.PatchWhitening(1e-3).fit_images(x, 3)
    dictionary = wh.sample_patches(x, 20, 3, rng=0)
    k = 8
    enc = knn_encoding.KNNPatchEncoder(dictionary, whitening, n_neighbors=k, assignment="soft", dtype=torch.float64)
    phi = enc.encode(x)
    patches = whitening.transform(wh.extract_patches(x, 3).reshape(-1, 9))
    atoms = whitening.transform(dictionary)
    expected = []
    for a in (atoms, -atoms):
        dist = torch.cdist(patches, a)
        tau = dist.sort(dim=1).values[:, k - 1:k]
        expected.append(torch.sigmoid(tau - dist))
    expected = torch.cat(expected, 1).reshape(2, 8, 8, 40).permute(0, 3, 1, 2)
    torch.testing.assert_close(phi, expected, rtol=1e-7, atol=1e-7)


def test_encoder_rejects_bad_arguments():
    x = _smooth_images(n=3, size=10).float()
    w = wh.PatchWhitening().fit_images(x, 3)
    d = wh.sample_patches(x, 10, 3)
    with pytest.raises(ValueError, match="n_neighbors"):
        knn_encoding.KNNPatchEncoder(d, w, n_neighbors=10)
    with pytest.raises(ValueError, match="assignment"):
        knn_encoding.KNNPatchEncoder(d, w, assignment="fuzzy")
    enc = knn_encoding.KNNPatchEncoder(d, w, pool_size=9)
    with pytest.raises(ValueError, match="channels"):
        enc.scores(torch.rand(1, 3, 10, 10))
    with pytest.raises(ValueError, match="pool_size"):
        enc(x)


def test_noise_dictionary_has_the_patch_mean_and_energy():
    x = _smooth_images(n=10, c=3, size=12).float()
    w = wh.PatchWhitening().fit_images(x, 4)
    noise = wh.gaussian_noise_dictionary(4000, w, rng=0)
    assert noise.shape == (4000, 3, 4, 4)
    flat = noise.reshape(4000, -1).double()
    torch.testing.assert_close(flat.mean(0), w.mean_, rtol=0, atol=0.02)
    assert abs(float(flat.var(0).mean() / (torch.trace(w.covariance_) / 48)) - 1) < 0.05
    # white: no correlation between neighbouring pixels, unlike the smooth images
    corr = torch.corrcoef(flat.T)
    assert float(corr[0, 1].abs()) < 0.06 and float(torch.corrcoef(w.covariance_)[0, 1]) > 0.5


def test_knn_classify_matches_scikit_learn():
    from sklearn.neighbors import KNeighborsClassifier
    g = torch.Generator().manual_seed(0)
    xtr, xte = torch.rand(300, 1, 5, 5, generator=g), torch.rand(100, 1, 5, 5, generator=g)
    ytr = (xtr.mean(dim=(1, 2, 3)) * 6).long().clamp(max=3)
    for k in (1, 5):
        ours = baselines.knn_classify(xtr, ytr, xte, k=k, batch_size=37)
        sk = KNeighborsClassifier(k).fit(xtr.reshape(300, -1).numpy(), ytr.numpy())
        sk = sk.predict(xte.reshape(100, -1).numpy())
        assert (ours.numpy() == sk).mean() >= 0.99          # vote ties may be broken differently
    with pytest.raises(ValueError, match="k must be"):
        baselines.knn_classify(xtr, ytr, xte, k=0)


def test_classifier_shapes_and_training_on_a_separable_task():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    signal = y[:, None, None, None] * (torch.arange(8) < 4)[None, :, None, None]
    feats = torch.rand(200, 8, 6, 6, generator=g) + 0.5 * signal
    torch.manual_seed(0)
    model = patch_knn.PatchClassifier(8, 2, bottleneck=4, k2=1, k3=4)
    assert model(feats[:3]).shape == (3, 2)
    cfg = training.TrainConfig(epochs=15, lr=0.05, batch_size=32, weight_decay=0.0)
    hist = training.train_classifier(model, (feats.half(), y), cfg, val=(feats, y), test=(feats.to(torch.uint8), y))
    assert len(hist.epoch) == 15 and hist.train_loss[-1] < hist.train_loss[0] and len(hist.val_top1) == 15
    assert training.evaluate(model, (feats, y))[1] > 0.9 and hist.test_top1 is not None
    hidden = patch_knn.PatchClassifier(8, 2, bottleneck=4, k2=3, k3=4, hidden=True)
    assert hidden(feats[:3]).shape == (3, 2)
    with pytest.raises(ValueError, match="k3"):
        patch_knn.PatchClassifier(8, 2, k3=7)(feats[:2])


def test_tile_patches_grid():
    grid = figures.tile_patches(torch.rand(10, 3, 4, 4), n_cols=4, pad=1)
    assert grid.shape == (3 * 5 + 1, 4 * 5 + 1, 3)
    assert grid.min() >= 0 and grid.max() <= 1
    g1 = figures.tile_patches(torch.arange(16.0).reshape(1, 1, 4, 4), n_cols=1)
    np.testing.assert_allclose(g1[1:5, 1:5], np.arange(16.0).reshape(4, 4) / 15)


@pytest.mark.slow
def test_pipeline_beats_chance_on_fashion_mnist():
    from localbook.data.images import load_fashion_mnist
    train, test = load_fashion_mnist("train", n=600, seed=0), load_fashion_mnist("test", n=300, seed=0)
    cfg = patch_knn.PatchKNNConfig(n_patches=64, patch_size=6, pool_size=5, pool_stride=3, bottleneck=32, k3=5,
                                   train=training.PATCH_KNN_RECIPE.with_(epochs=8, lr=0.01, batch_size=64))
    res = patch_knn.run_patch_knn(train, test, cfg, seeds=(0,))
    assert res.encoder.out_channels == 128 and res.encoder.n_neighbors == 26
    assert res.test_accuracy > 0.6                                    # chance is 0.1


def _stripes(n, seed):
    """Images of horizontal (class 0) or vertical (class 1) stripes at random phases, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    phase = torch.randint(0, 4, (n, 1, 1), generator=g)
    idx = torch.arange(12)
    rows = ((idx[None, :, None] + phase) % 4 < 2).float().expand(n, 12, 12)
    cols = ((idx[None, None, :] + phase) % 4 < 2).float().expand(n, 12, 12)
    x = torch.where(y[:, None, None].bool(), cols, rows)
    return (0.8 * x + 0.2 * torch.rand(n, 12, 12, generator=g)).unsqueeze(1), y


def test_run_patch_knn_over_seeds_and_reclassify():
    train, val, test = _stripes(80, 0), _stripes(40, 1), _stripes(40, 2)
    cfg = patch_knn.PatchKNNConfig(n_patches=16, patch_size=3, pool_size=4, pool_stride=3, bottleneck=8, k3=2,
                                   train=training.PATCH_KNN_RECIPE.with_(epochs=4, lr=0.05, batch_size=16))
    res = patch_knn.run_patch_knn(train, test, cfg, val=val, seeds=(0, 1), keep_features=True)
    assert res.seeds == (0, 1) and len(res.histories) == 2 and len(res.features) == 2
    assert all(len(h.val_top1) == 4 and h.test_top1 is not None for h in res.histories)
    assert res.test_accuracy > 0.9 and res.test_std >= 0
    # each seed draws its own dictionary: the codes differ
    assert not torch.equal(res.features[0]["train"][0], res.features[1]["train"][0])
    hidden = patch_knn.reclassify(res, replace(cfg, hidden=True, k2=3, bottleneck=16))
    assert hidden.config.hidden and len(hidden.histories) == 2 and hidden.encoder is res.encoder
    with pytest.raises(ValueError, match="changes the encoding.*n_patches"):
        patch_knn.reclassify(res, replace(cfg, n_patches=8))
    with pytest.raises(ValueError, match="kept no features"):
        patch_knn.reclassify(patch_knn.run_patch_knn(train, test, cfg), cfg)
    with pytest.raises(ValueError, match="does not match"):
        patch_knn.run_patch_knn(train, test, cfg, whitening=wh.PatchWhitening(1e-2).fit_images(train[0], 3))


def test_codes_stored_on_disk_give_the_same_result(tmp_path):
    train, test = _stripes(60, 0), _stripes(30, 2)
    cfg = patch_knn.PatchKNNConfig(n_patches=16, patch_size=3, pool_size=4, pool_stride=3, bottleneck=8, k3=2,
                                   train=training.PATCH_KNN_RECIPE.with_(epochs=2, lr=0.05, batch_size=16))
    memory = patch_knn.run_patch_knn(train, test, cfg, keep_features=True)
    disk = patch_knn.run_patch_knn(train, test, cfg, keep_features=True, storage=tmp_path / "codes")
    codes = disk.features[0]["train"][0]
    assert codes.dtype == torch.uint8 and torch.equal(codes, memory.features[0]["train"][0])
    assert disk.histories[0].train_loss == memory.histories[0].train_loss
    assert list((tmp_path / "codes").iterdir()) == []        # unlinked files: freed with the tensors


def test_variants_and_sweeps_change_one_thing_each():
    train, test = _stripes(60, 0), _stripes(30, 2)
    cfg = patch_knn.PatchKNNConfig(n_patches=16, patch_size=3, pool_size=4, pool_stride=3, bottleneck=8, k3=2,
                                   train=training.PATCH_KNN_RECIPE.with_(epochs=2, lr=0.05, batch_size=16))
    base = patch_knn.run_patch_knn(train, test, cfg)
    runs = patch_knn.run_variants(train, test, cfg, {"no whitening": {"whitening": "none"},
                                                     "soft": {"assignment": "soft"}}, whitening=base.whitening)
    assert runs["no whitening"].whitening is not base.whitening and runs["no whitening"].whitening.method == "none"
    assert runs["soft"].whitening is base.whitening and runs["soft"].config.assignment == "soft"
    sweeps = patch_knn.run_sweeps(train, test, base, {"n_patches": [8, 16], "k_fraction": [], "reg": [1e-2]})
    assert set(sweeps) == {"n_patches", "reg"} and sorted(sweeps["n_patches"]) == [8, 16]
    assert sweeps["n_patches"][16] is base and sweeps["n_patches"][8].encoder.n_atoms == 8
    assert sweeps["reg"][1e-2].whitening.reg == 1e-2 and sweeps["reg"][1e-3] is base


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_kth_smallest_equals_kthvalue(dtype):
    s = torch.randn(3, 4, 5, 11, generator=torch.Generator().manual_seed(0)).to(dtype)
    for k in range(1, 12):
        ours = knn_encoding.kth_smallest(s, k)
        assert ours.dtype == dtype and torch.equal(ours, s.float().kthvalue(k, dim=-1, keepdim=True).values.to(dtype))
    with pytest.raises(ValueError, match="k must be"):
        knn_encoding.kth_smallest(s, 12)


def test_kth_smallest_in_threads_equals_one_thread():
    s = torch.randn(3000, 50, generator=torch.Generator().manual_seed(1))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        many = knn_encoding.kth_smallest(s, 20)
        torch.set_num_threads(1)
        one = knn_encoding.kth_smallest(s, 20)
    finally:
        torch.set_num_threads(threads)
    assert many.shape == (3000, 1) and torch.equal(many, one)
    assert torch.equal(one, s.kthvalue(20, dim=-1, keepdim=True).values)


def test_nearest_atoms_finds_an_atom_and_a_negative_at_distance_zero():
    import matplotlib.pyplot as plt

    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 1, 12, 12, generator=g)
    white = wh.PatchWhitening(reg=1e-3).fit_images(images, 3)
    dictionary = wh.sample_patches(images, 20, 3, rng=0)
    mean = white.mean_.reshape(1, 3, 3)
    found = figures.nearest_atoms(dictionary[7], dictionary, white, k=3)
    for space in ("whitened", "pixels"):
        assert int(found[space]["index"][0]) == 7 and float(found[space]["distance"][0]) < 1e-9
        assert torch.all(found[space]["distance"][1:] > 0) and found[space]["atoms"].shape == (3, 1, 3, 3)
    negative = figures.nearest_atoms(2 * mean.float() - dictionary[4], dictionary, white, k=2)["whitened"]
    assert int(negative["index"][0]) == 20 + 4 and float(negative["distance"][0]) < 1e-6
    # whitening changes which atoms are nearest for a generic patch (else the ablation would change nothing)
    orders = [figures.nearest_atoms(images[i, :, 2:5, 2:5], dictionary, white, k=5) for i in range(6)]
    assert any(not torch.equal(o["whitened"]["index"], o["pixels"]["index"]) for o in orders)
    with pytest.raises(ValueError, match=r"k must be in \[1, 40\]"):
        figures.nearest_atoms(dictionary[0], dictionary, white, k=41)
    with pytest.raises(ValueError, match="patch size"):
        figures.nearest_atoms(images[0, :, :4, :4], dictionary, white, k=1)
    fig = figures.plot_nearest_atoms(images[0], 9, 0, dictionary, white, k=4, title="an image")
    assert len(fig.axes) == 1 + 2 * (1 + 4)
    plt.close(fig)
    with pytest.raises(ValueError, match="leaves the 12 x 12 image"):
        figures.plot_nearest_atoms(images[0], 10, 0, dictionary, white, k=4)


def test_nearest_atoms_explorer_redraws_when_a_slider_moves(capsys):
    pytest.importorskip("ipywidgets")
    import matplotlib.pyplot as plt

    g = torch.Generator().manual_seed(1)
    images, labels = torch.rand(3, 1, 10, 10, generator=g), torch.tensor([0, 1, 0])
    white = wh.PatchWhitening(reg=1e-3).fit_images(images, 3)
    box = figures.nearest_atoms_explorer(images, labels, ["a", "b"], wh.sample_patches(images, 8, 3, rng=0), white,
                                         k=3, show=False)
    index, row, col = box.children[:3]
    assert (index.max, row.max, col.max) == (2, 7, 7)
    assert "image 0, patch at row 3, column 3" in capsys.readouterr().out  # drawn once when built
    row.value = 0
    assert "image 0, patch at row 0, column 3" in capsys.readouterr().out  # (the Output area prints here headless)
    plt.close("all")
