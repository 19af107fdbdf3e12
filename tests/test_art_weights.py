"""Weights of the style-transfer chapter: the HED VGG-16 conv stack (h5), ImageNet state dicts, Magenta ONNX."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from localbook.art import vgg
from localbook.data import DataUnavailableError, locate


@pytest.fixture(scope="module")
def hed_file():
    return locate("vgg16-hed") / vgg.HED_FILE


@pytest.fixture(scope="module")
def hed_model():
    return vgg.load_vgg16("hed", pool="max")


def test_hed_h5_has_the_13_vgg16_convolutions(hed_file):
    params = vgg.read_hed_h5(hed_file)
    assert tuple(params) == vgg.VGG16_LAYERS
    assert params["conv1_1"][0].shape == (64, 3, 3, 3)
    assert params["conv3_1"][0].shape == (256, 128, 3, 3)
    assert params["conv5_3"][0].shape == (512, 512, 3, 3)
    assert all(b.shape == (k.shape[0],) for k, b in params.values())


def test_kernel_layout_matches_keras_cross_correlation(hed_file, hed_model):
    import h5py

    with h5py.File(hed_file) as f:
        k_keras = np.asarray(f["block1/layers/conv2d/vars/0"])  # (3, 3, C_in, C_out)
        bias = np.asarray(f["block1/layers/conv2d/vars/1"])
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((1, 3, 8, 8)), dtype=torch.float32)
    inp = hed_model.preprocess(x)[0].numpy()  # (3, 8, 8), BGR, mean subtracted
    patch = inp[:, 3:6, 2:5]  # 3x3 neighbourhood of pixel (4, 3)
    expected = np.maximum(np.einsum("cij,ijco->o", patch, k_keras) + bias, 0)
    got = hed_model(x, ("conv1_1",))["conv1_1"][0, :, 4, 3].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_mean_colour_image_gives_relu_bias(hed_file, hed_model):
    # An image of exactly the Caffe mean colour is zero after preprocessing, so inside the image (away from
    # the zero padding) conv1_1 outputs relu(bias): a feature statistic fixed by the file alone.
    mean_rgb = torch.tensor(vgg.HED_MEAN_BGR[::-1]) / 255.0
    x = mean_rgb.view(1, 3, 1, 1).expand(1, 3, 12, 12).contiguous()
    act = hed_model(x, ("conv1_1",))["conv1_1"][0, :, 1:-1, 1:-1]
    bias = vgg.read_hed_h5(hed_file)["conv1_1"][1]
    np.testing.assert_allclose(act.mean((1, 2)).numpy(), np.maximum(bias, 0), atol=1e-3)


def test_hed_detects_the_edges_of_a_square(hed_model):
    x = torch.full((1, 3, 64, 64), 0.2)
    x[..., 16:48, 16:48] = 0.8
    edges = vgg.hed_edges(x, hed_model)[0, 0]
    assert edges.shape == (64, 64)
    assert float(edges[16, 20:44].mean()) > 0.5  # on the top side of the square
    assert float(edges[32, 32]) < 0.05 and float(edges[4, 4]) < 0.1  # inside and outside
    with pytest.raises(ValueError, match="pool='max'"):
        vgg.hed_edges(x, vgg.VGG16Features("caffe", "avg"))


def test_forward_returns_requested_layers_and_checks_input(hed_model):
    out = hed_model(torch.rand(1, 3, 33, 33), ("conv1_1", "conv3_1"))
    assert out["conv1_1"].shape == (1, 64, 33, 33)
    assert out["conv3_1"].shape == (1, 256, 9, 9)  # ceil-mode pooling: 33 -> 17 -> 9
    with pytest.raises(ValueError, match="unknown VGG-16 layer"):
        hed_model(torch.rand(1, 3, 8, 8), ("relu9_9",))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        hed_model(torch.rand(1, 8, 8), ("conv1_1",))


def test_random_weights_are_seeded():
    a, b, c = (vgg.load_vgg16("random", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.convs["conv2_1"].weight, b.convs["conv2_1"].weight)
    assert not torch.equal(a.convs["conv2_1"].weight, c.convs["conv2_1"].weight)
    std = float(a.convs["conv3_1"].weight.std())
    assert abs(std - np.sqrt(2 / (128 * 9))) < 0.05 * std  # He initialisation
    with pytest.raises(ValueError, match="'hed', 'imagenet' or 'random'"):
        vgg.load_vgg16("vgg19")


def test_imagenet_state_dict_is_mapped_in_order(tmp_path, monkeypatch):
    from localbook.data.art_weights import IMAGENET_VGG16_FILE

    state, idx = {}, 0
    c_in = 3
    for i, c_out in enumerate(vgg._CHANNELS):
        state[f"features.{idx}.weight"] = torch.full((c_out, c_in, 3, 3), float(i))
        state[f"features.{idx}.bias"] = torch.full((c_out,), -float(i))
        idx += 2 + (1 if vgg._block_end(vgg.VGG16_LAYERS[i]) else 0)
        c_in = c_out
    state["classifier.0.weight"] = torch.zeros(2, 2)
    (tmp_path / "vgg16").mkdir()
    torch.save(state, tmp_path / "vgg16" / IMAGENET_VGG16_FILE)
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    model = vgg.load_vgg16("imagenet")
    assert model.input_mode == "torchvision"
    for i, name in enumerate(vgg.VGG16_LAYERS):
        assert float(model.convs[name].weight[0, 0, 0, 0]) == i and float(model.convs[name].bias[0]) == -i


def test_missing_imagenet_weights_name_every_way(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(DataUnavailableError) as err:
        locate("vgg16-imagenet")
    message = str(err.value)
    assert "LOCALBOOK_DATA/vgg16" in message and "download=True" in message and "torchvision" in message


def test_magenta_network_stylises(hed_model):
    from localbook.art.feedforward import MagentaStyleTransfer

    f = MagentaStyleTransfer()
    g = torch.Generator().manual_seed(0)
    content = F.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(48, 48), mode="bilinear")
    stripes = torch.zeros(1, 3, 64, 64)
    stripes[:, 0, :, ::8] = 1.0
    assert f.style_vector(stripes).shape == (1, 1, 1, 100)
    out = f(stripes, content)
    assert out.shape == content.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert torch.equal(out, f(stripes, content))  # deterministic
    other = f(torch.full((1, 3, 64, 64), 0.5), content)
    assert float((out - other).abs().mean()) > 0.02  # the style matters
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        f(stripes, torch.rand(3, 48, 48))
