"""A scattering patch network: scattering descriptors of image patches, a learned local encoding, a global
average and a linear classifier (thesis ch. 4).

The pipeline of thesis fig. 4.1, for images ``x`` of shape (B, C, H, W) in [0, 1]:

1. :class:`ScatteringFrontEnd` -- the 2-D scattering transform ``Sx(u)`` of kymatio (Morlet wavelets, ``L``
   angles, scales ``0 <= j < J``, orders 0, 1 and optionally 2; thesis section 4.1). Each spatial position
   ``u`` of the output is a descriptor of an image patch of width ~``2**J`` pixels. kymatio samples the
   output every ``2**J`` pixels and has no oversampling option in 2-D; the thesis used an oversampling
   factor ``o = 1`` (a sampling step of ``2**(J-o)`` pixels). :class:`ScatteringFrontEnd` adds it by
   scattering ``4**o`` shifted copies of the image and interleaving them (see its docstring).
2. :class:`PatchNet` -- the local encoding ``Phi``: a first convolution of spatial size ``patch`` (3: it
   concatenates 3 x 3 neighbouring descriptors, a larger patch; 1: one descriptor), then ``depth - 1``
   blocks [batch norm, 1 x 1 convolution of width ``n_c``, ReLU], a batch norm, a global average over
   ``u`` and a linear classifier ``W`` (thesis section 4.2). Since ``W`` ignores ``u``,

       F(x) = W mean_u Phi(Sx(u)) + b = mean_u [W Phi(Sx(u)) + b]              (thesis section 4.2.2)

   the decision is the average of per-patch evidences, returned by :meth:`PatchNet.evidence`. (The thesis
   writes a sum over ``u``; the average differs by the constant number of positions.)
3. Baselines trained the same way: :class:`ScatteringLinear` (a linear classifier on the whole scattering
   tensor, the thesis' "Scattering + linear") and :class:`EndToEndCNN` (an ordinary CNN of similar size whose
   receptive field is not limited to a patch).

Training (SGD, step schedule, DistributedDataParallel) lives in :mod:`localbook.images.train_patch_cnn`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from localbook.checks import check_images

__all__ = ["ScatteringFrontEnd", "scattering_channels", "select_orders", "scattering_features",
           "cached_scattering_features", "PatchNet",
           "ScatteringLinear", "EndToEndCNN", "RandomTranslate", "SubsampledTranslate",
           "count_parameters", "topk_accuracy",
           "patch_evidence", "plot_evidence_maps", "show_evidence", "plot_training_curves", "format_table"]


def scattering_channels(J: int, L: int = 8, max_order: int = 2) -> dict[int, int]:
    """Number of scattering channels per input channel and order: ``{0: 1, 1: J L, 2: L**2 J (J-1) / 2}``.

    Order-2 paths keep only ``j2 > j1`` (thesis section 4.1). For J = 4, L = 8 and a colour image this gives
    3 x (1 + 32 + 384) = 1251 channels, the number in thesis fig. 4.1.
    """
    counts = {0: 1, 1: J * L}
    if max_order >= 2:
        counts[2] = L * L * J * (J - 1) // 2
    return counts


class ScatteringFrontEnd(nn.Module):
    """2-D scattering ``Sx(u)`` with an oversampling factor, as a fixed (not trained) torch module.

    Parameters: ``J`` (number of scales; patches of width ~``2**J`` px), ``shape`` = (H, W) of the images,
    ``L`` angles in [0, pi), ``max_order`` 1 or 2, ``oversampling`` o in [0, J].

    Input (B, C, H, W); output (B, C * K, M_h, M_w) with K = :func:`scattering_channels` summed and
    ``M_h = 2**o * H / 2**J``: descriptors sampled every ``stride = 2**(J - o)`` pixels. Channel
    ``c * K + k`` is scattering path ``k`` (order 0, then order 1 by (j, theta), then order 2) of colour ``c``.

    Oversampling (kymatio has none in 2-D): the image is reflect-padded by ``2**J - stride`` pixels at the
    bottom and right, and the ``4**o`` windows shifted by ``(a, b) * stride`` pixels, ``0 <= a, b < 2**o``,
    are scattered in one batched kymatio call. Window ``(a, b)`` gives the descriptors at the positions
    ``2**J u + (a, b) stride``; interleaving the windows puts them on the finer grid. Window (0, 0) is the
    un-shifted image, so the even positions ``[..., ::2**o, ::2**o]`` of the output are exactly the
    scattering without oversampling (tested). The cost is ``4**o`` scatterings.
    """

    def __init__(self, J: int, shape: tuple[int, int], L: int = 8, max_order: int = 2, oversampling: int = 0):
        super().__init__()
        if not (isinstance(J, int) and J >= 1):
            raise ValueError(f"J must be an integer >= 1, got {J!r}")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order!r}")
        if not (isinstance(oversampling, int) and 0 <= oversampling <= J):
            raise ValueError(f"oversampling must be an integer in [0, J={J}], got {oversampling!r}")
        H, W = shape
        if H % 2**J or W % 2**J:
            raise ValueError(f"image shape {tuple(shape)} is not a multiple of 2**J = {2**J}: crop or pad the "
                             f"images, or choose a smaller J")
        import localbook  # noqa: F401  (installs the SciPy shim before kymatio is imported)
        from kymatio.torch import Scattering2D

        self.J, self.L, self.max_order, self.oversampling = J, L, max_order, oversampling
        self.shape = (H, W)
        self.stride = 2 ** (J - oversampling)
        self.scattering = Scattering2D(J=J, shape=(H, W), L=L, max_order=max_order)
        self.channels_per_input = sum(scattering_channels(J, L, max_order).values())

    def output_shape(self, in_channels: int) -> tuple[int, int, int]:
        """(channels, M_h, M_w) of the output for images with ``in_channels`` colours."""
        f = 2 ** self.oversampling
        return (in_channels * self.channels_per_input, f * self.shape[0] // 2**self.J,
                f * self.shape[1] // 2**self.J)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[-2:]) != self.shape:
            raise ValueError(f"ScatteringFrontEnd expects images (B, C, {self.shape[0]}, {self.shape[1]}), "
                             f"got {tuple(x.shape)}")
        check_images(x, who="ScatteringFrontEnd")
        B, C, H, W = x.shape
        f, s = 2 ** self.oversampling, self.stride
        if f == 1:
            windows = x.unsqueeze(0)
        else:
            pad = 2**self.J - s
            xp = F.pad(x, (0, pad, 0, pad), mode="reflect")
            # all 4**o shifted windows at once: (f*f, B, C, H, W), window index a * f + b
            idx = torch.arange(f, device=x.device) * s
            rows = (idx[:, None] + torch.arange(H, device=x.device)[None, :])  # (f, H)
            cols = (idx[:, None] + torch.arange(W, device=x.device)[None, :])  # (f, W)
            windows = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (B, C, f, f, H, W)
            windows = windows.permute(2, 3, 0, 1, 4, 5).reshape(f * f, B, C, H, W)
        S = self.scattering(windows.reshape(f * f * B, C, H, W).contiguous())  # (f*f*B, C, K, h, w)
        K, h, w = S.shape[-3:]
        S = S.reshape(f, f, B, C * K, h, w).permute(2, 3, 4, 0, 5, 1)  # (B, CK, h, a, w, b)
        return S.reshape(B, C * K, h * f, w * f)


def select_orders(features: torch.Tensor, in_channels: int, J: int, L: int = 8, keep_order: int = 1,
                  computed_order: int = 2) -> torch.Tensor:
    """Keep the scattering channels of order <= ``keep_order`` of features computed up to ``computed_order``.

    ``features`` (B, in_channels * K, M_h, M_w) as returned by :class:`ScatteringFrontEnd`. Used for the
    ablation "order 2 removed" without recomputing the transform: kymatio lists order 0, then 1, then 2.
    """
    counts = scattering_channels(J, L, computed_order)
    K = sum(counts.values())
    if features.shape[1] != in_channels * K:
        raise ValueError(f"features have {features.shape[1]} channels, expected {in_channels} x {K} for J={J}, "
                         f"L={L}, max_order={computed_order}")
    keep = sum(n for order, n in counts.items() if order <= keep_order)
    B, _, Mh, Mw = features.shape
    return features.reshape(B, in_channels, K, Mh, Mw)[:, :, :keep].reshape(B, in_channels * keep, Mh, Mw)


@torch.no_grad()
def scattering_features(frontend: nn.Module, x: torch.Tensor, batch_size: int = 512, device="cpu",
                        progress: bool | None = None) -> torch.Tensor:
    """Apply a fixed front end to images ``x`` (N, C, H, W) by batches on ``device``; returns (N, K, M, M)
    float32 on ``device``. ``progress=None`` shows a bar only in interactive terminals (tqdm's ``disable``)."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    frontend = frontend.to(device)
    disable = None if progress is None else not progress
    out = [frontend(x[i:i + batch_size].to(device))
           for i in tqdm(range(0, len(x), batch_size), desc="scattering", disable=disable)]
    return torch.cat(out)


def cached_scattering_features(frontend: "ScatteringFrontEnd", x: torch.Tensor, batch_size: int = 512,
                               device="cpu", progress: bool | None = None, cache=None) -> torch.Tensor:
    """:func:`scattering_features` through the on-disk :class:`~localbook.data.cache.ArrayCache`, keyed by
    the images and the front end's (J, L, max_order, oversampling): a re-run of a chapter reads the
    descriptors instead of recomputing them. ``cache=None`` uses the default cache ($LOCALBOOK_CACHE)."""
    from localbook.data.cache import default_cache

    cache = cache or default_cache()
    params = {"J": frontend.J, "L": frontend.L, "max_order": frontend.max_order,
              "oversampling": frontend.oversampling, "shape": list(frontend.shape)}
    arrays = cache.get_or_compute(
        "scattering2d_features",
        lambda: {"s": scattering_features(frontend, x, batch_size, device, progress).cpu().numpy()},
        inputs=x, params=params)
    return torch.from_numpy(arrays["s"]).to(device)


def _check_features(x: torch.Tensor, in_channels: int, who: str) -> None:
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{who} expects a tensor (B, {in_channels}, M_h, M_w), got {tuple(x.shape)}; "
                         "pass scattering features (ScatteringFrontEnd output) with the channel count the "
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


@dataclass
class RandomTranslate:
    """Augmentation: random translations by up to ``max_shift`` samples (reflect padding) and, optionally,
    horizontal flips; each image in a batch gets its own draw. Works on images (B, C, H, W) and on
    scattering maps (a shift of one scattering sample is a shift of ``stride`` pixels). Vectorised: one
    gather for the whole batch."""

    max_shift: int = 2
    flip: bool = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        B, C, H, W = x.shape
        m = self.max_shift
        if m > 0:
            if m >= min(H, W):
                raise ValueError(f"max_shift={m} must be smaller than the map size {H} x {W}")
            gen_device = generator.device if generator is not None else torch.device("cpu")
            d = torch.randint(0, 2 * m + 1, (2, B), generator=generator, device=gen_device).to(x.device)
            xp = F.pad(x, (m, m, m, m), mode="reflect")
            rows = d[0][:, None] + torch.arange(H, device=x.device)  # (B, H)
            cols = d[1][:, None] + torch.arange(W, device=x.device)  # (B, W)
            b = torch.arange(B, device=x.device)[:, None, None]
            x = xp[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)
        if self.flip:
            gen_device = generator.device if generator is not None else torch.device("cpu")
            flip = (torch.rand(B, generator=generator, device=gen_device) < 0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x.contiguous()


@dataclass
class SubsampledTranslate:
    """Augmentation for a model without oversampling, trained from oversampled features: a random translation
    by up to ``max_shift`` samples of the fine grid, then every ``step``-th sample (``step = 2**o``).

    Sample ``v`` of the result is the fine-grid descriptor ``step * v + d``: the non-oversampled scattering of
    the image translated by ``d * stride_fine`` pixels. So the model without oversampling sees exactly the
    translations that :class:`RandomTranslate` gives the oversampled one, and is tested on ``[::step, ::step]``.
    """

    max_shift: int = 1
    step: int = 2

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return RandomTranslate(self.max_shift)(x, generator)[..., ::self.step, ::self.step].contiguous()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def topk_accuracy(logits: torch.Tensor, y: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """Fraction of samples whose label is among the ``k`` largest logits, for each k (k capped at the
    number of classes)."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == y[:, None]
    return {k: hits[:, :k].any(dim=1).float().mean().item() for k in ks}


@torch.no_grad()
def patch_evidence(model: PatchNet, features: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Evidence maps ``W Phi(Sx(u)) + b`` (N, n_classes, M, M) of a trained :class:`PatchNet` in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.evidence(features[i:i + batch_size]) for i in range(0, len(features), batch_size)])
    finally:
        model.train(was_training)


def plot_evidence_maps(images: torch.Tensor, evidence: torch.Tensor, labels: torch.Tensor, classes,
                       stride: int, n_show: int = 6):
    """A figure: for ``n_show`` images, the image, the evidence map of the true class and of the predicted
    class (the class with the largest mean evidence), drawn on the image's pixel grid (position ``u`` is
    centred on pixel ``stride * u``). One colour scale per image, centred on zero. Returns the figure."""
    import matplotlib.pyplot as plt

    n_show = min(n_show, len(images))
    pred = evidence.mean(dim=(2, 3)).argmax(1)
    fig, axes = plt.subplots(3, n_show, figsize=(1.6 * n_show, 5.2), squeeze=False)
    for i in range(n_show):
        img = images[i].detach().cpu()
        img = (img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)).numpy()  # numpy: matplotlib warns on tensors
        H, W = img.shape[:2]
        ev = evidence[i].detach().cpu().numpy()
        t, p = int(labels[i]), int(pred[i])
        vmax = float(abs(ev[[t, p]]).max())
        extent = (-stride / 2, ev.shape[-1] * stride - stride / 2, ev.shape[-2] * stride - stride / 2, -stride / 2)
        axes[0, i].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[0, i].set_title(("ok " if t == p else "x ") + classes[t], fontsize=8)
        for row, (cls, tag) in enumerate([(t, "true"), (p, "pred")], start=1):
            axes[row, i].imshow(img, cmap="gray" if img.ndim == 2 else None, alpha=0.35)
            im = axes[row, i].imshow(ev[cls], cmap="RdBu_r", vmin=-vmax, vmax=vmax, extent=extent, alpha=0.75)
            axes[row, i].set_xlim(-0.5, W - 0.5)
            axes[row, i].set_ylim(H - 0.5, -0.5)
            axes[row, i].set_title(f"{tag}: {classes[cls]}", fontsize=8)
        for row in range(3):
            axes[row, i].set_axis_off()
    fig.colorbar(im, ax=axes[1:, :].ravel().tolist(), shrink=0.6, label="evidence (logit units)")
    return fig



def show_evidence(index: int, images: torch.Tensor, evidence: torch.Tensor, labels: torch.Tensor, classes,
                  stride: int) -> None:
    """Widget callback: draw the evidence maps of test image ``index`` (see :func:`plot_evidence_maps`)."""
    import matplotlib.pyplot as plt

    if not 0 <= index < len(images):
        raise IndexError(f"image index {index} out of range [0, {len(images) - 1}]")
    sl = slice(index, index + 1)
    plot_evidence_maps(images[sl], evidence[sl], labels[sl], classes, stride, n_show=1)
    plt.show()


def plot_training_curves(histories: dict, title: str = ""):
    """Two panels: training loss (cross-entropy, nats) and test top-1 accuracy (%) per epoch, one line per
    model; ``histories`` maps a name to a :class:`~localbook.images.train_patch_cnn.History`. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, h in histories.items():
        line, = ax0.plot(h.epoch, h.train_loss, marker=".", label=name)
        ax1.plot(h.epoch, [100 * a for a in h.test_top1], marker=".", color=line.get_color(), label=name)
    ax0.set(xlabel="epoch", ylabel="training loss (nats)", yscale="log")
    ax1.set(xlabel="epoch", ylabel="test top-1 accuracy (%)")
    ax1.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def format_table(rows: list[list], headers: list[str]) -> str:
    """A plain-text table with left-aligned columns (floats are printed as given: round them first)."""
    cells = [[str(c) for c in headers]] + [[("-" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
