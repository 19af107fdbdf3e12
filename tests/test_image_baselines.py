"""Tests of the image baselines (pixel logistic regression, whole-image k-NN) and of comparisons over seeds."""
import numpy as np
import pytest
import torch

from localbook.images import baselines, experiments
from localbook.images.patch_cnn import ScatteringPatchLinear
from localbook.images.training import TrainConfig


def _blobs(n, seed, noise=1.0):
    """Two-class 'images' (n, 1, 4, 4): class means differ in the top-left pixels, plus Gaussian noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = noise * torch.randn(n, 1, 4, 4, generator=g)
    x[:, 0, 0, :3] += 2.0 * torch.nn.functional.one_hot(y, 3).float()
    return x, y


def test_whole_image_knn_chooses_k_on_validation():
    train, val, test = _blobs(300, 0, noise=1.5), _blobs(200, 1, noise=1.5), _blobs(200, 2, noise=1.5)
    res = baselines.whole_image_knn(train, test, val=val, ks=(1, 15))
    assert set(res.validation) == {1, 15} and res.chosen["k"] == max(res.validation, key=res.validation.get)
    assert res.validation[15] > res.validation[1]                 # noisy classes: averaging more neighbours helps
    direct = (baselines.knn_classify(*train, test[0], k=res.chosen["k"]) == test[1]).float().mean()
    assert res.test_accuracy == pytest.approx(float(direct)) and res.test_accuracies.shape == (1,)
    assert baselines.whole_image_knn(train, test, ks=(3, 15)).chosen == {"k": 3}    # no validation: the first


def test_pixel_logistic_regression_matches_scikit_learn_and_chooses_c():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train, val, test = _blobs(300, 0), _blobs(200, 1), _blobs(200, 2)
    res = baselines.pixel_logistic_regression(train, test, val=val, Cs=(1e-4, 1.0))
    C = res.chosen["C"]
    assert set(res.validation) == {1e-4, 1.0} and C == max(res.validation, key=res.validation.get)
    assert res.chosen["converged"]
    flat = lambda d: d[0].reshape(len(d[0]), -1).numpy()  # noqa: E731
    scaler = StandardScaler().fit(flat(train))
    sk = LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(flat(train)), train[1].numpy())
    assert res.test_accuracy == pytest.approx((sk.predict(scaler.transform(flat(test))) == test[1].numpy()).mean())
    assert res.test_accuracy > 0.6                                # chance is 1/3


def test_train_variants_over_seeds_reproduces_each_seed():
    train, val, test = _blobs(96, 0), _blobs(48, 1), _blobs(48, 2)
    variant = experiments.Variant(lambda: ScatteringPatchLinear(1, 3), train, test, val=val)
    cfg = TrainConfig(epochs=3, lr=0.05, batch_size=32)
    res = experiments.train_variants({"a": variant}, cfg, seeds=(0, 1))["a"]
    again = experiments.train_variants({"a": variant}, cfg, seeds=(1,))["a"]
    assert res.seeds == (0, 1) and len(res.histories) == 2 and res.n_parameters == 2 + 3 + 3
    assert again.histories[0].train_loss == res.histories[1].train_loss        # seed 1 alone = seed 1 in the pair
    assert res.histories[0].train_loss != res.histories[1].train_loss
    assert len(res.histories[0].val_top1) == 3 and 0 <= res.test_accuracy <= 1


def test_accuracy_cell_and_comparison_table():
    assert experiments.accuracy_cell([0.8]) == "80.0"
    assert experiments.accuracy_cell([0.8, 0.9]) == f"85.0 ± {100 * np.std([0.8, 0.9], ddof=1):.1f}"
    res = baselines.BaselineResult("knn", 0.75, {"k": 5})
    from localbook.plotting import text_table

    table = text_table(*experiments.comparison_rows({"whole-image k-NN": res}, thesis={"whole-image k-NN": "58.3"},
                                                    extra={"whole-image k-NN": {"chosen": "k = 5"}}))
    header, _, row = table.splitlines()
    assert header.split()[:3] == ["model", "thesis", "%"] and "chosen" in header
    assert row.split() == ["whole-image", "k-NN", "58.3", "75.0", "1", "k", "=", "5"]


def test_end_to_end_cnn_baseline_and_thesis_rows():
    from localbook.data.images import ImageDataset
    from localbook.images import thesis

    g = torch.Generator().manual_seed(0)
    make = lambda n: ImageDataset(torch.rand(n, 1, 8, 8, generator=g), torch.arange(n) % 2, ("a", "b"), "toy")  # noqa: E731
    cnn = experiments.end_to_end_cnn(make(32), make(16), make(16), 4, TrainConfig(epochs=2, batch_size=16),
                                     seeds=(0, 1))
    assert cnn.seeds == (0, 1) and len(cnn.histories[0].val_top1) == 2 and cnn.n_parameters > 0
    a, b = baselines.BaselineResult("a", 0.80, {}), baselines.BaselineResult("b", 0.75, {})
    assert thesis.gap_cell(a, b) == "+5.0" and thesis.gap_cell(None, b) == "not run"
    rows = thesis.patch_cnn_thesis_rows({"patch network": a, "scattering + linear, position-aware": b}, "here")
    gains = {r[0]: r[2] for r in rows}
    assert gains["patch network - scattering + linear (top-5 gain)"] == "+5.0"
    assert gains["order 2 removed (top-5)"] == "not run" and all(r[3] == "here" for r in rows)
    dims = {"photos": [{"patch_size": 8, "d_ext": 192, "d_int_whitened": 19.2}]}
    knn_rows = thesis.patch_knn_thesis_rows({"patch k-NN + linear": a, "whole-image k-NN": b}, {},
                                            {"n_patches": {64: b, 256: a}}, dims, "here", "dims")
    by_name = {r[0]: r for r in knn_rows}
    assert by_name["patch k-NN + linear - whole-image k-NN"][2] == "+5.0"
    assert by_name["patch k-NN + linear, largest |D| run here (256)"][2] == "80.0"
    assert by_name["d_int / d_ext after whitening, photos, P = 8"][2:] == ("10 %", "dims")
    class Run:
        def __init__(self, acc):
            self.train_accuracies, self.test_accuracies = np.array([1.0]), np.array(acc)

    rows, header = experiments.sweep_rows({"n_patches": {256: Run([0.8, 0.9]), 64: Run([0.7])}})
    assert rows[1][3] == experiments.accuracy_cell([0.8, 0.9])
    assert header == ["parameter", "value", "train %", "test %"] and [r[1] for r in rows] == [64, 256]


def test_beats_baselines_states_the_ranking_without_digits():
    from types import SimpleNamespace

    from localbook.images.experiments import beats_baselines

    results = {"patch": SimpleNamespace(test_accuracies=[0.83, 0.815, 0.82]),
               "pixels": SimpleNamespace(test_accuracies=[0.80]), "knn": SimpleNamespace(test_accuracies=[0.815])}
    text = beats_baselines(results, "patch", ["pixels", "knn"], margin=0.01)
    assert text.splitlines() == [
        "patch above pixels by more than 1 points (test top-1, mean of 3 seed(s)); above it in 3 of 3 seed(s)",
        "patch NOT above knn by more than 1 points (test top-1, mean of 3 seed(s)); above it in 1 of 3 seed(s)"]
    assert "0.8" not in text
    with pytest.raises(KeyError, match="no baseline named 'cnn'"):
        beats_baselines(results, "patch", ["cnn"])
