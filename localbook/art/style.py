"""Optimisation-based style transfer: Gatys et al. (2015) and a STROTSS-like method (Kolkin et al., 2019).

Both optimise the pixels of an output image ``x`` to minimise ``content_weight * l_c(x, c) + l_s(x, s)``
(thesis ch. 6.2.3) on the features of a :class:`localbook.art.vgg.VGG16Features` network.

* :func:`gatys` -- style: Gram matrices of ``conv1_1 ... conv5_1``; content: ``conv4_2`` activations;
  L-BFGS on the pixels. Each term is normalised by the target's squared norm, so that the weights do not
  depend on the scale of the network's activations (HED, ImageNet and random weights differ by orders of
  magnitude).
* :func:`strotss` -- style: an earth mover's distance between *hypercolumns* (the RGB value and the
  activations of several layers, bilinearly sampled at the same random locations) under the cosine cost,
  either the relaxed EMD (``ot="remd"``, STROTSS) or the entropic Sinkhorn EMD (``ot="sinkhorn"``, the
  thesis' SEMD), plus mean/covariance matching and a colour-palette REMD; content: the self-similarity
  loss (the matrix of cosine distances between the output's hypercolumns should look like the content's);
  coarse-to-fine over several scales, the pixels parametrised by a Laplacian pyramid and updated by Adam.

Images are ``(1, 3, H, W)`` tensors in [0, 1] on the model's device. Both functions return the output and
a history of the loss, and accept a seed so that CPU runs reproduce bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from localbook.art import ot
from localbook.art.vgg import VGG16Features
from localbook.checks import check_images

__all__ = ["GATYS_STYLE_LAYERS", "GATYS_CONTENT_LAYER", "STROTSS_LAYERS", "gram_matrix", "gatys_losses",
           "gatys", "sample_hypercolumns", "self_similarity_loss", "moment_loss", "strotss_losses", "strotss",
           "StyleResult", "resize", "style_distances", "Gatys", "Strotss", "run_methods"]

GATYS_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
GATYS_CONTENT_LAYER = "conv4_2"
STROTSS_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_3", "conv4_1", "conv4_3",
                  "conv5_1")


@dataclass
class StyleResult:
    """An output image ``(1, 3, H, W)`` in [0, 1] and the loss after each logged step."""

    image: torch.Tensor
    losses: list[float] = field(default_factory=list)


def _tqdm_disable(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None (auto: hidden when not attached to a terminal or notebook), or not progress."""
    return None if progress is None else not progress


def _check_image(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[:2] != (1, 3):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be one RGB image (1, 3, H, W) in [0, 1], got {shape}")
    check_images(x, who=name)


def resize(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize ``(B, C, H, W)`` images to ``size`` (an int gives the longer side), antialiased bilinear."""
    if isinstance(size, int):
        h, w = x.shape[-2:]
        scale = size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if tuple(size) == tuple(x.shape[-2:]):
        return x
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)


# --------------------------------------------------------------------------------------------- Gatys
def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``G_kl = sum_p F_kp F_lp / P`` of features (B, C, H, W) -> (B, C, C), P = H W pixels."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def gatys_losses(model: VGG16Features, x: torch.Tensor, style_grams: dict, content_target: torch.Tensor,
                 layers=GATYS_STYLE_LAYERS, content_layer=GATYS_CONTENT_LAYER) -> tuple[torch.Tensor, torch.Tensor]:
    """(style, content) losses of ``x``: relative squared errors of the Gram matrices (averaged over the
    style layers) and of the content layer's activations."""
    feats = model(x, tuple(layers) + (content_layer,))
    style = sum(((gram_matrix(feats[k]) - g).square().sum() / g.square().sum().clamp_min(1e-12))
                for k, g in style_grams.items()) / len(style_grams)
    content = (feats[content_layer] - content_target).square().sum() / content_target.square().sum().clamp_min(1e-12)
    return style, content


def gatys(content: torch.Tensor, style: torch.Tensor, model: VGG16Features, steps: int = 100,
          content_weight: float = 0.05, init: str = "content", seed: int = 0, progress: bool | None = None,
          style_size: int | None = None) -> StyleResult:
    """Gatys et al. (2015) style transfer by L-BFGS on the pixels.

    ``content``, ``style``: (1, 3, H, W) in [0, 1] (the style is resized to ``style_size``, default the
    content's longer side); ``steps``: L-BFGS iterations (in chunks of 10, the image clamped to [0, 1]
    between chunks); ``content_weight``: weight of the content term relative to the style term;
    ``init``: ``"content"`` (the usual start) or ``"noise"`` (uniform noise, seeded by ``seed``: used by the
    self-style recursion, where starting from the content would be a fixed point at once).
    """
    _check_image("content", content)
    _check_image("style", style)
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    device = content.device
    style = resize(style.to(device), style_size or max(content.shape[-2:]))
    with torch.no_grad():
        style_grams = {k: gram_matrix(v) for k, v in model(style, GATYS_STYLE_LAYERS).items()}
        content_target = model(content, (GATYS_CONTENT_LAYER,))[GATYS_CONTENT_LAYER]
    if init == "content":
        x = content.clone(memory_format=torch.contiguous_format)
    else:
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(content.shape, generator=g).to(device)
    x.requires_grad_(True)
    history: list[float] = []
    chunk = min(10, steps)
    for _ in tqdm(range(-(-steps // chunk)), desc="Gatys L-BFGS", disable=_tqdm_disable(progress), leave=False):
        opt = torch.optim.LBFGS([x], max_iter=chunk, history_size=20, line_search_fn="strong_wolfe")

        def closure(opt=opt):  # called by this step's opt.step only; the default binds it explicitly
            opt.zero_grad()
            s, c = gatys_losses(model, x, style_grams, content_target)
            loss = s + content_weight * c
            loss.backward()
            return loss

        loss = opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        history.append(float(loss.detach()))
    return StyleResult(x.detach(), history)


# --------------------------------------------------------------------------------------------- STROTSS
def sample_hypercolumns(model: VGG16Features, x: torch.Tensor, coords: torch.Tensor,
                        layers=STROTSS_LAYERS, feats: dict | None = None) -> torch.Tensor:
    """Hypercolumns ``(N, 3 + sum C_l)`` of image ``x`` (1, 3, H, W) at ``coords`` (N, 2) in [-1, 1] (x, y).

    Each layer's activation map is sampled bilinearly at the same relative positions (``grid_sample``,
    ``align_corners=False``), so a hypercolumn describes one location at every depth (Kolkin et al. 2019).
    Each layer is divided by the square root of its channel count, so that deep layers with many
    channels do not dominate the cosine cost. ``feats``: the activation maps ``model(x, layers)`` when
    already computed (a fixed image sampled at many location sets).
    """
    if feats is None:
        feats = model(x, tuple(layers))
    grid = coords.view(1, 1, -1, 2).to(x.dtype)
    cols = [F.grid_sample(x * 2 - 1, grid, align_corners=False).view(3, -1)]
    for name in layers:
        f = feats[name]
        cols.append(F.grid_sample(f, grid, align_corners=False).view(f.shape[1], -1) / f.shape[1] ** 0.5)
    return torch.cat(cols, 0).T


def _random_coords(n: int, generator: torch.Generator, device) -> torch.Tensor:
    return (torch.rand(n, 2, generator=generator) * 2 - 1).to(device)


def self_similarity_loss(fx: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
    """STROTSS content loss: mean |D_x - D_c| of the column-normalised cosine self-distance matrices (N, N)
    of the output's and the content's hypercolumns ``fx``, ``fc`` (N, D) at the same locations."""
    dx = ot.cosine_cost(fx, fx)
    dc = ot.cosine_cost(fc, fc)
    dx = dx / dx.sum(0, keepdim=True).clamp_min(1e-8)
    dc = dc / dc.sum(0, keepdim=True).clamp_min(1e-8)
    return (dx - dc).abs().mean() * fx.shape[0]


def moment_loss(fx: torch.Tensor, fs: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the means and covariances of two clouds (N, D), (M, D)."""
    mx, ms = fx.mean(0), fs.mean(0)
    cx = (fx - mx).T @ (fx - mx) / (fx.shape[0] - 1)
    cs = (fs - ms).T @ (fs - ms) / (fs.shape[0] - 1)
    return (mx - ms).abs().mean() + (cx - cs).abs().mean()


def _ot_loss(cost: torch.Tensor, kind: str, eps: float, n_iter: int) -> torch.Tensor:
    if kind == "remd":
        return ot.relaxed_emd(cost)
    return ot.sinkhorn(cost, eps=eps, n_iter=n_iter).cost


def strotss_losses(fx: torch.Tensor, fc: torch.Tensor, fs: torch.Tensor, ot_kind: str = "remd",
                   eps: float = 1e-3, n_iter: int = 50) -> dict[str, torch.Tensor]:
    """The terms of the STROTSS-like loss on hypercolumns of output ``fx``, content ``fc`` (same locations)
    and style ``fs``: ``ot`` (cosine-cost EMD, relaxed or Sinkhorn), ``moments``, ``palette`` (Euclidean
    EMD of the RGB values, always relaxed as in STROTSS) and ``content`` (self-similarity)."""
    return {
        "ot": _ot_loss(ot.cosine_cost(fx, fs), ot_kind, eps, n_iter),
        "moments": moment_loss(fx, fs),
        "palette": ot.relaxed_emd(ot.euclidean_cost(fx[:, :3], fs[:, :3])),
        "content": self_similarity_loss(fx, fc),
    }


def _laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    pyramid, current = [], x
    for _ in range(levels - 1):
        down = F.interpolate(current, scale_factor=0.5, mode="bilinear", antialias=True, align_corners=False)
        pyramid.append(current - F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False))
        current = down
    pyramid.append(current)
    return pyramid


def _collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    x = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        x = band + F.interpolate(x, size=band.shape[-2:], mode="bilinear", align_corners=False)
    return x


def strotss(content: torch.Tensor, style: torch.Tensor, model: VGG16Features, ot_kind: str = "remd",
            scales: int = 3, steps: int = 60, content_weight: float = 4.0, lr: float = 0.02,
            n_samples: int = 512, eps: float = 1e-3, n_iter: int = 50, seed: int = 0,
            progress: bool | None = None) -> StyleResult:
    """STROTSS-like style transfer (Kolkin et al. 2019) with the relaxed or the Sinkhorn EMD.

    Coarse to fine over ``scales`` sizes (the content's size divided by ``2**(scales-1) ... 1``), ``steps``
    Adam steps per scale (learning rate ``lr`` on the Laplacian-pyramid coefficients); the content weight is
    halved at each finer scale. Each step samples ``n_samples`` new random locations (seeded by ``seed``)
    in the output and the content; ``n_samples`` style hypercolumns are drawn once per scale.
    ``ot_kind``: ``"remd"`` or ``"sinkhorn"`` (with ``eps`` and ``n_iter``; thesis fig. 6.10: 1e-3 and 50).
    The first scale starts from the content, shifted to the style's mean colour.
    """
    _check_image("content", content)
    _check_image("style", style)
    if ot_kind not in ("remd", "sinkhorn"):
        raise ValueError(f"ot_kind must be 'remd' or 'sinkhorn', got {ot_kind!r}")
    if scales < 1 or steps < 1:
        raise ValueError(f"need scales >= 1 and steps >= 1, got scales={scales}, steps={steps}")
    device = content.device
    style = style.to(device)
    g = torch.Generator().manual_seed(seed)
    size = max(content.shape[-2:])
    x = None
    history: list[float] = []
    bar = tqdm(total=scales * steps, desc=f"STROTSS ({ot_kind})", disable=_tqdm_disable(progress), leave=False)
    for k in range(scales):
        s = max(16, size // 2 ** (scales - 1 - k))
        c_k = resize(content, s)
        s_k = resize(style, s)
        if x is None:
            x = (c_k - c_k.mean((2, 3), keepdim=True) + s_k.mean((2, 3), keepdim=True)).clamp(0, 1)
        else:
            x = F.interpolate(x, size=c_k.shape[-2:], mode="bilinear", align_corners=False)
        with torch.no_grad():
            fs = sample_hypercolumns(model, s_k, _random_coords(n_samples, g, device))
            content_maps = model(c_k, STROTSS_LAYERS)  # computed once per scale, sampled at each step
        levels = max(1, min(5, s.bit_length() - 4))
        pyramid = [p.clone().requires_grad_(True) for p in _laplacian_pyramid(x, levels)]
        opt = torch.optim.Adam(pyramid, lr=lr)
        alpha = content_weight / 2 ** k
        for _ in range(steps):
            opt.zero_grad()
            out = _collapse(pyramid).clamp(0, 1)
            coords = _random_coords(n_samples, g, device)
            fx = sample_hypercolumns(model, out, coords)
            with torch.no_grad():
                fc = sample_hypercolumns(model, c_k, coords, feats=content_maps)
            terms = strotss_losses(fx, fc, fs, ot_kind, eps, n_iter)
            style_term = terms["ot"] + terms["moments"] + terms["palette"] / max(alpha, 1.0)
            loss = (alpha * terms["content"] + style_term) / (1.0 + alpha)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
            bar.update()
        x = _collapse(pyramid).detach().clamp(0, 1)
    bar.close()
    return StyleResult(x, history)


@torch.no_grad()
def style_distances(model: VGG16Features, x: torch.Tensor, style: torch.Tensor, n_points: int = 128,
                    eps: float = 1e-3, n_iter: int = 50, seed: int = 0) -> dict[str, float]:
    """How far the hypercolumns of ``x`` are from those of ``style`` under four transport distances.

    ``n_points`` hypercolumns are drawn from each image (seeded locations; the style resized to ``x``'s
    size); on their cosine cost: ``remd`` (STROTSS' relaxed EMD), ``emd`` (exact, linear programming),
    ``sinkhorn`` (the raw transport cost of the Sinkhorn plan after ``n_iter`` iterations) and
    ``sinkhorn_rounded`` (of that plan rounded onto the feasible set: an upper bound of ``emd``).
    Used to ask whether an output closer to the mathematical objective looks better (thesis fig. 6.10).
    """
    g = torch.Generator().manual_seed(seed)
    style = resize(style.to(x.device), tuple(x.shape[-2:]))
    fx = sample_hypercolumns(model, x, _random_coords(n_points, g, x.device)).double()
    fs = sample_hypercolumns(model, style, _random_coords(n_points, g, x.device)).double()
    cost = ot.cosine_cost(fx, fs)
    res = ot.sinkhorn(cost, eps=eps, n_iter=n_iter)
    return {"remd": float(ot.relaxed_emd(cost)), "emd": ot.exact_emd(cost), "sinkhorn": float(res.cost),
            "sinkhorn_rounded": float(res.rounded_cost)}


@dataclass
class Gatys:
    """Gatys' method as a style transfer function ``f(style, content) -> image`` (the form of thesis eq. 6.1).

    ``options`` go to :func:`gatys` (``steps``, ``content_weight``, ...); ``progress`` is off.
    """

    model: VGG16Features
    options: dict = field(default_factory=dict)

    def __init__(self, model: VGG16Features, **options):
        self.model, self.options = model, options

    def __call__(self, style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return gatys(content, style, self.model, progress=False, **self.options).image


@dataclass
class Strotss:
    """The STROTSS-like method as ``f(style, content) -> image``; ``ot_kind`` "remd" or "sinkhorn".

    ``options`` go to :func:`strotss` (``scales``, ``steps``, ``n_samples``, ``eps``, ``n_iter``, ``seed``).
    """

    model: VGG16Features
    ot_kind: str = "remd"
    options: dict = field(default_factory=dict)

    def __init__(self, model: VGG16Features, ot_kind: str = "remd", **options):
        self.model, self.ot_kind, self.options = model, ot_kind, options

    def __call__(self, style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return strotss(content, style, self.model, self.ot_kind, progress=False, **self.options).image


def run_methods(methods: dict, style: torch.Tensor, content: torch.Tensor) -> tuple[dict, dict]:
    """Apply each ``f(style, content)`` of ``methods`` (name -> function); returns ``(images, seconds)``, two
    dicts keyed by the method names (wall-clock seconds of each call)."""
    import time

    images, seconds = {}, {}
    for name, f in methods.items():
        t0 = time.perf_counter()
        images[name] = f(style, content)
        seconds[name] = time.perf_counter() - t0
    return images, seconds
