"""The scattering patch network of thesis chapter 4 and the models it is compared with.

The pipeline of thesis fig. 4.1, for images ``x`` of shape (B, C, H, W) in [0, 1]:

1. the 2-D scattering ``Sx(u)`` (:class:`localbook.images.scattering2d.OversampledScattering2D`): each position
   ``u`` of its output is a descriptor of an image patch of width ~``2**J`` pixels;
2. :class:`PatchNet` -- the local encoding ``Phi``: a first convolution of spatial size ``patch`` (3: it
   concatenates 3 x 3 neighbouring descriptors, a larger patch; 1: one descriptor), then ``depth - 1``
   blocks [batch norm, 1 x 1 convolution of width ``n_c``, ReLU], a batch norm, a global average over
   ``u`` and a linear classifier ``W`` (thesis section 4.2). Since ``W`` ignores ``u``,

       F(x) = W mean_u Phi(Sx(u)) + b = mean_u [W Phi(Sx(u)) + b]              (thesis section 4.2.2)

   the decision is the average of per-patch evidences, returned by :meth:`PatchNet.evidence`. (The thesis
   writes a sum over ``u``; the average differs by the constant number of positions.)

Baselines, trained by the same loop (:func:`localbook.images.training.train_classifier`):
:class:`ScatteringLinear` (a linear classifier on the whole scattering tensor, position-aware: the thesis'
"Scattering + linear"), :class:`ScatteringPatchLinear` (a linear evidence per position, averaged: the
patch-separated linear model) and :class:`EndToEndCNN` (an ordinary CNN trained from pixels, whose receptive
field is not limited to a patch).
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["PatchNet", "ScatteringLinear", "ScatteringPatchLinear", "EndToEndCNN", "patch_evidence",
           "evidence_decomposition_error"]


def _check_features(x: torch.Tensor, in_channels: int, who: str) -> None:
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{who} expects a tensor (B, {in_channels}, M_h, M_w), got {tuple(x.shape)}; "
                         "pass scattering features (OversampledScattering2D output) with the channel count the "
                         "model was built for")


class PatchNet(nn.Module):
    """Local encoding ``Phi`` of scattering descriptors, global average and linear classifier ``W``.

    Layers (thesis section 4.2.1, fig. 4.1): [BN(in), conv ``patch`` x ``patch`` (in -> width), ReLU], then
    ``depth - 1`` x [BN, conv 1 x 1 (width -> width), ReLU], BN, mean over positions, Linear(width, n_classes).
    ``patch = 3`` encodes 3 x 3 neighbouring descriptors (~32 x 32 pixels at J = 4, o = 1 on ImageNet);
    ``patch = 1`` a single descriptor (~16 x 16). Thesis scale: width n_c = 2048, depth N = 8.
    The 3 x 3 convolution is zero-padded, so border positions see a partial patch; every evidence still
    depends on one patch only.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 2048, depth: int = 8, patch: int = 3):
        super().__init__()
        if depth < 1 or width < 1 or n_classes < 2 or in_channels < 1:
            raise ValueError(f"PatchNet needs depth >= 1, width >= 1, n_classes >= 2, in_channels >= 1; got "
                             f"depth={depth}, width={width}, n_classes={n_classes}, in_channels={in_channels}")
        if patch not in (1, 3):
            raise ValueError(f"patch must be 1 (one descriptor) or 3 (3 x 3 descriptors), got {patch!r}")
        self.in_channels, self.patch = in_channels, patch
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels), nn.Conv2d(in_channels, width, patch,
                                                                             padding=patch // 2), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.BatchNorm2d(width), nn.Conv2d(width, width, 1), nn.ReLU()]
        layers.append(nn.BatchNorm2d(width))
        self.encoder = nn.Sequential(*layers)  # Phi, followed by a per-channel affine (the last BN)
        self.classifier = nn.Linear(width, n_classes)  # W, b

    def encode(self, s: torch.Tensor) -> torch.Tensor:
        """Local encodings ``Phi(Sx(u))``: (B, in_channels, M, M) -> (B, width, M, M)."""
        _check_features(s, self.in_channels, "PatchNet")
        return self.encoder(s)

    def evidence(self, s: torch.Tensor) -> torch.Tensor:
        """Patch evidences ``W Phi(Sx(u)) + b``: (B, in_channels, M, M) -> (B, n_classes, M, M)."""
        phi = self.encode(s)
        return torch.einsum("bchw,kc->bkhw", phi, self.classifier.weight) + self.classifier.bias[:, None, None]

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Logits ``F(x) = W mean_u Phi(Sx(u)) + b``, shape (B, n_classes)."""
        return self.classifier(self.encode(s).mean(dim=(2, 3)))


class ScatteringLinear(nn.Module):
    """Linear classifier on the whole scattering tensor (thesis table 4.1, "Scattering + linear"):
    BN(in) (a per-channel standardisation, learned), flatten, Linear(in * M_h * M_w, n_classes)."""

    def __init__(self, in_channels: int, spatial: tuple[int, int], n_classes: int):
        super().__init__()
        self.in_channels = in_channels
        self.norm = nn.BatchNorm2d(in_channels)
        self.classifier = nn.Linear(in_channels * spatial[0] * spatial[1], n_classes)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        _check_features(s, self.in_channels, "ScatteringLinear")
        return self.classifier(self.norm(s).flatten(1))


class ScatteringPatchLinear(nn.Module):
    """The patch-separated linear baseline: a linear evidence ``w Sx(u) + b`` per position, averaged over
    ``u`` -- a :class:`PatchNet` with no hidden layer.

    BN(in) (a learned per-channel standardisation), a 1 x 1 convolution to the classes, the mean over
    positions. Since everything is linear, it equals a linear classifier on the spatial average of the
    standardised scattering: it cannot use where a descriptor sits, unlike :class:`ScatteringLinear`, so the
    gap between the two measures what absolute position is worth on a dataset of centred objects, and the gap
    to :class:`PatchNet` what the learned non-linear encoding adds.
    """

    def __init__(self, in_channels: int, n_classes: int):
        super().__init__()
        self.in_channels = in_channels
        self.norm = nn.BatchNorm2d(in_channels)
        self.classifier = nn.Conv2d(in_channels, n_classes, 1)

    def evidence(self, s: torch.Tensor) -> torch.Tensor:
        """Per-position evidences (B, n_classes, M_h, M_w)."""
        _check_features(s, self.in_channels, "ScatteringPatchLinear")
        return self.classifier(self.norm(s))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.evidence(s).mean(dim=(2, 3))


class EndToEndCNN(nn.Module):
    """An ordinary CNN trained from pixels, for comparison with a patch network of similar size.

    [conv 3x3, BN, ReLU] x 2 at full resolution (width/2), 2 x 2 max pool, [conv 3x3, BN, ReLU] x 2 (width),
    2 x 2 max pool, global average, Linear. Its receptive field (~22 px before pooling effects) covers most
    of a 28 x 28 image: the decision is not a sum of patch decisions.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 64):
        super().__init__()
        w2 = max(1, width // 2)

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.features = nn.Sequential(*block(in_channels, w2), *block(w2, w2), nn.MaxPool2d(2),
                                      *block(w2, width), *block(width, width), nn.MaxPool2d(2))
        self.classifier = nn.Linear(width, n_classes)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_features(x, self.in_channels, "EndToEndCNN")
        return self.classifier(self.features(x).mean(dim=(2, 3)))


@torch.no_grad()
def patch_evidence(model: nn.Module, features: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Evidence maps ``W Phi(Sx(u)) + b`` (N, n_classes, M, M) of a trained :class:`PatchNet` (or any model
    with an ``evidence`` method) in eval mode, computed by batches."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.evidence(features[i:i + batch_size]) for i in range(0, len(features), batch_size)])
    finally:
        model.train(was_training)


@torch.no_grad()
def evidence_decomposition_error(model: nn.Module, features: torch.Tensor, evidence: torch.Tensor | None = None,
                                 batch_size: int = 512) -> float:
    """Largest ``|F(x) - mean_u evidence(x, u)|`` over ``features`` (logit units): zero up to rounding for a
    patch-separated model (thesis section 4.2.2), whose decision is the average of its patch evidences."""
    was_training = model.training
    model.eval()
    try:
        evidence = patch_evidence(model, features, batch_size) if evidence is None else evidence
        logits = torch.cat([model(features[i:i + batch_size]) for i in range(0, len(features), batch_size)])
        return float((logits - evidence.mean(dim=(2, 3))).abs().max())
    finally:
        model.train(was_training)
