"""A sketch RNN that completes pen strokes: the thesis' "neural sketcher" (thesis section 6.1.2).

The thesis' painting installation feeds the strokes on the canvas to "a recurrent neural network based on
[Ha and Eck, 2018]", which "outputs a similar series that we convert back as strokes". This module is that
network, in torch, after Ha and Eck (2018), "A neural representation of sketch drawings":

* **Stroke-3** (the exchange format): an (n, 3) float32 array of rows (dx, dy, pen_lifted); dx, dy is the
  offset of a point from the previous one (the first from an origin), ``pen_lifted = 1`` when the pen leaves
  the paper after this point (the point ends a stroke). :func:`strokes_to_stroke3` / :func:`stroke3_to_strokes`
  convert from / to lists of absolute (k, 2) point arrays.
* **Stroke-5** (the network's format): rows (dx, dy, p1, p2, p3), one-hot pen state: p1 pen down after the
  point, p2 pen lifted, p3 end of the sketch; sequences start with the token S0 = (0, 0, 1, 0, 0) and are
  padded with (0, 0, 0, 0, 1) (:func:`stroke3_to_stroke5`).
* **Model** (:class:`SketchRNN`): a bidirectional LSTM encoder gives mu and sigma of a latent z (Ha and Eck
  eq. 2); the decoder LSTM, initialised by tanh(W z), reads (S_{i-1}, z) and outputs a mixture of M bivariate
  Gaussians for (dx, dy) and 3 pen-state logits (eq. 3). Loss (eq. 4-8): reconstruction
  L_R = L_s + L_p plus w_KL * eta_step * max(KL, KL_min), eta_step annealed from eta_min towards 1.
* **Sampling**: temperature tau scales the mixture and pen logits by 1/tau and the variances by tau
  (Ha and Eck section 3.3); :class:`SketchCompleter` continues a partial drawing.

Offsets inside the model are in *normalised units*: KanjiVG units divided by the dataset's offset standard
deviation, stored in ``SketchRNN.scale`` (see :func:`normalise` / :func:`denormalise`).

The training command: ``python -m localbook.art.sketch train --help``.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from localbook.data.strokes import (  # the stroke formats live in the data layer (KanjiVG reads them too)
    _check_stroke3,
    denormalise,
    normalise,
    offset_scale,
    stroke3_to_stroke5,
    stroke3_to_strokes,
    stroke5_to_stroke3,
    strokes_to_stroke3,
)
from localbook.device import pick_device

__all__ = [
    "strokes_to_stroke3", "stroke3_to_strokes", "normalise", "denormalise", "offset_scale", "stroke3_to_stroke5",
    "stroke5_to_stroke3", "mixture_nll", "pen_nll", "SketchConfig", "SketchRNN", "sample", "complete",
    "SketchCompleter", "load_pretrained", "save_model", "load_model", "train", "evaluate_nll", "read_curve",
    "write_curve", "draw_stroke3", "split_strokes", "plot_drawings", "codepoint_title", "reconstruct",
    "baseline_nll_per_point", "main", "WEIGHTS_DIR", "WEIGHTS_FILE", "CURVE_FILE", "MANIFEST_FILE",
]

WEIGHTS_DIR = Path(__file__).parent / "data"
WEIGHTS_FILE = "sketch_rnn_kanjivg.pt"
CURVE_FILE = "sketch_rnn_kanjivg_curve.csv"
MANIFEST_FILE = "sketch_rnn_manifest.json"


# ----------------------------------------------------------------------------------------------- losses
def _split_params(params: torch.Tensor, n_mixtures: int):
    """Split the decoder output (..., 6M + 3) into mixture and pen parameters (log-space where relevant)."""
    M = n_mixtures
    logit_pi, mu_x, mu_y, log_sx, log_sy, pre_rho = torch.split(params[..., :6 * M], M, dim=-1)
    pen_logits = params[..., 6 * M:]
    rho = torch.tanh(pre_rho) * (1 - 1e-5)  # keep |rho| < 1 for the log(1 - rho^2) term
    return logit_pi, mu_x, mu_y, log_sx, log_sy, rho, pen_logits


def mixture_nll(logit_pi: torch.Tensor, mu_x: torch.Tensor, mu_y: torch.Tensor, log_sx: torch.Tensor,
                log_sy: torch.Tensor, rho: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """-log p(dx, dy) under a mixture of M bivariate Gaussians (Ha and Eck eq. 3 and 5; Bishop's MDN).

    Shapes: mixture parameters (..., M) (``logit_pi`` unnormalised log weights, ``log_s*`` log standard
    deviations, ``rho`` correlations in (-1, 1)); ``dx``, ``dy`` (...). Returns (...) in nats, computed in
    log space with ``logsumexp`` (no underflow for points far from every component).
    """
    zx = (dx.unsqueeze(-1) - mu_x) * torch.exp(-log_sx)
    zy = (dy.unsqueeze(-1) - mu_y) * torch.exp(-log_sy)
    one_m_rho2 = 1 - rho ** 2
    log_n = (-math.log(2 * math.pi) - log_sx - log_sy - 0.5 * torch.log(one_m_rho2)
             - (zx ** 2 + zy ** 2 - 2 * rho * zx * zy) / (2 * one_m_rho2))
    return -torch.logsumexp(torch.log_softmax(logit_pi, dim=-1) + log_n, dim=-1)


def pen_nll(pen_logits: torch.Tensor, pen_onehot: torch.Tensor) -> torch.Tensor:
    """Categorical cross entropy of the 3 pen states (Ha and Eck eq. 8, L_p); shapes (..., 3) -> (...)."""
    return -(torch.log_softmax(pen_logits, dim=-1) * pen_onehot).sum(-1)


# ----------------------------------------------------------------------------------------------- model
@dataclass
class SketchConfig:
    """Hyper-parameters of :class:`SketchRNN` (Ha and Eck's names: N_z, M, w_KL, KL_min, eta_min, R)."""

    enc_hidden: int = 128
    dec_hidden: int = 256
    z_dim: int = 32
    n_mixtures: int = 20
    max_len: int = 100
    dropout: float = 0.1       # on the decoder outputs (Ha and Eck use recurrent dropout 0.1)
    kl_weight: float = 0.5     # w_KL
    kl_min: float = 0.2        # KL floor, per latent dimension (nats)
    eta_min: float = 0.01
    kl_decay: float = 0.9995   # R: eta_step = 1 - (1 - eta_min) R^step (Ha and Eck: 0.99995 for 10^6 steps)


class SketchRNN(nn.Module):
    """Sketch-RNN (Ha and Eck, 2018): BiLSTM encoder -> z -> LSTM decoder with a mixture-density output.

    ``scale`` (a buffer): KanjiVG units per normalised unit (the training set's offset std).
    """

    def __init__(self, config: SketchConfig | None = None, scale: float = 1.0):
        super().__init__()
        self.config = c = config or SketchConfig()
        self.encoder = nn.LSTM(5, c.enc_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * c.enc_hidden, c.z_dim)
        self.to_logvar = nn.Linear(2 * c.enc_hidden, c.z_dim)
        self.init_state = nn.Linear(c.z_dim, 2 * c.dec_hidden)
        self.decoder = nn.LSTM(5 + c.z_dim, c.dec_hidden, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(c.dec_hidden, 6 * c.n_mixtures + 3)
        self.register_buffer("scale", torch.tensor(float(scale)))

    @property
    def device(self) -> torch.device:
        return self.output.weight.device

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu, log sigma^2 of q(z | S) (each (B, z_dim)) from stroke-5 points x (B, T, 5) without S0."""
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        h = torch.cat([h[0], h[1]], dim=-1)  # forward and backward final states (Ha and Eck eq. 1)
        return self.to_mu(h), self.to_logvar(h)

    def initial_state(self, z: torch.Tensor):
        """Decoder (h0, c0), each (1, B, dec_hidden), = tanh(W z + b) (Ha and Eck eq. 4)."""
        h0, c0 = torch.tanh(self.init_state(z)).chunk(2, dim=-1)
        return h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()

    def decode(self, x_in: torch.Tensor, z: torch.Tensor, state=None):
        """Decoder outputs (B, T, 6M + 3) for inputs x_in (B, T, 5) and z (B, z_dim); returns (params, state)."""
        if state is None:
            state = self.initial_state(z)
        zz = z.unsqueeze(1).expand(-1, x_in.shape[1], -1)
        out, state = self.decoder(torch.cat([x_in, zz], dim=-1), state)
        return self.output(self.dropout(out)), state

    def losses(self, x: torch.Tensor, lengths: torch.Tensor, sample_z: bool = True) -> dict[str, torch.Tensor]:
        """Ha and Eck's losses for a stroke-5 batch x (B, 1 + N_max, 5) that starts with S0.

        Returns ``L_s`` (offset NLL summed over each sequence's points, divided by B N_max), ``L_p`` (pen NLL
        over all N_max rows, padding included, divided by B N_max), ``L_R = L_s + L_p``, ``KL`` (mean over
        the batch and the latent dimensions), and ``nll_per_point`` (L_s + pen NLL over the real points,
        divided by the number of real points: a length-independent figure).
        """
        target = x[:, 1:]
        mu, logvar = self.encode(target, lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample_z else mu
        params, _ = self.decode(x[:, :-1], z)
        lp, mx, my, lsx, lsy, rho, pen = _split_params(params, self.config.n_mixtures)
        T = target.shape[1]
        mask = (torch.arange(T, device=x.device)[None] < lengths[:, None]).float()
        ls_each = mixture_nll(lp, mx, my, lsx, lsy, rho, target[..., 0], target[..., 1]) * mask
        lpen_each = pen_nll(pen, target[..., 2:])
        denom = x.shape[0] * T
        L_s = ls_each.sum() / denom
        L_p = lpen_each.sum() / denom
        kl = -0.5 * torch.mean(1 + logvar - mu ** 2 - logvar.exp())
        nll_pp = (ls_each.sum() + (lpen_each * mask).sum()) / mask.sum()
        return {"L_s": L_s, "L_p": L_p, "L_R": L_s + L_p, "KL": kl, "nll_per_point": nll_pp}


# ----------------------------------------------------------------------------------------------- sampling
def _sample_step(params: torch.Tensor, n_mixtures: int, temperature: float, gen: torch.Generator | None,
                 allow_end: bool = True):
    """Draw one stroke-5 row per batch item from decoder outputs (B, 6M + 3), with temperature tau.

    ``allow_end=False`` gives the end-of-sketch state p3 probability 0 (renormalising p1, p2)."""
    lp, mx, my, lsx, lsy, rho, pen = _split_params(params, n_mixtures)
    if not allow_end:
        pen = torch.cat([pen[..., :2], torch.full_like(pen[..., 2:], -torch.inf)], dim=-1)
    tau = max(float(temperature), 1e-4)
    B = params.shape[0]
    dev = params.device
    k = torch.multinomial(torch.softmax(lp / tau, -1), 1, generator=gen).squeeze(-1)
    idx = torch.arange(B, device=dev)
    mx, my, rho = mx[idx, k], my[idx, k], rho[idx, k]
    sx, sy = torch.exp(lsx[idx, k]) * math.sqrt(tau), torch.exp(lsy[idx, k]) * math.sqrt(tau)
    e = torch.randn(B, 2, generator=gen, device=dev)
    dx = mx + sx * e[:, 0]
    dy = my + sy * (rho * e[:, 0] + torch.sqrt(1 - rho ** 2) * e[:, 1])
    state = torch.multinomial(torch.softmax(pen / tau, -1), 1, generator=gen).squeeze(-1)
    row = torch.zeros(B, 5, device=dev)
    row[:, 0], row[:, 1] = dx, dy
    row[idx, 2 + state] = 1.0
    return row


def _generator(seed: int | None, device) -> torch.Generator | None:
    if seed is None:
        return None
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@torch.no_grad()
def _continue(model: SketchRNN, state, last: torch.Tensor, z: torch.Tensor, n_points: int, temperature: float,
              gen, min_points: int = 0) -> list[np.ndarray]:
    """Sample up to n_points rows after the last input rows ``last`` (B, 5); stops an item at end of sketch
    (not before ``min_points`` rows)."""
    B = last.shape[0]
    rows = torch.zeros(B, n_points, 5, device=last.device)
    rows[:, :, 4] = 1.0
    done = torch.zeros(B, dtype=torch.bool, device=last.device)
    x = last
    for t in range(n_points):
        params, state = model.decode(x[:, None], z, state)
        x = _sample_step(params[:, 0], model.config.n_mixtures, temperature, gen, allow_end=t >= min_points)
        x[done] = torch.tensor([0, 0, 0, 0, 1.0], device=x.device)
        rows[:, t] = x
        done |= x[:, 4] > 0.5
        if bool(done.all()):
            break
    return [stroke5_to_stroke3(r) for r in rows]


@torch.no_grad()
def sample(model: SketchRNN, n: int, n_points: int | None = None, temperature: float = 0.5,
           z: torch.Tensor | None = None, seed: int | None = 0, min_points: int = 0) -> list[np.ndarray]:
    """Unconditional samples: z ~ N(0, I) (or the given (n, z_dim) z), decoded from S0 with temperature tau.

    Returns n stroke-3 arrays in normalised units (each stops at the end-of-sketch state or ``n_points``,
    default the model's ``max_len``).
    """
    model.eval()
    dev = model.device
    gen = _generator(seed, dev)
    if z is None:
        z = torch.randn(n, model.config.z_dim, generator=gen, device=dev)
    s0 = torch.tensor([[0, 0, 1.0, 0, 0]], device=dev).expand(n, 5).contiguous()
    n_points = n_points or model.config.max_len
    return _continue(model, model.initial_state(z), s0, z, n_points, temperature, gen, min(min_points, n_points))


@torch.no_grad()
def complete(model: SketchRNN, prefixes: Sequence[np.ndarray], n_points: int, temperature: float = 0.5,
             seed: int | None = 0, z_source: str = "encoder", min_points: int = 0) -> list[np.ndarray]:
    """Continue partial drawings (a batch): the decoder reads S0 and each prefix, then samples.

    Parameters
    ----------
    prefixes : stroke-3 arrays (normalised units), each with at least one point.
    n_points : most new points per drawing (fewer when the model ends the sketch).
    z_source : ``"encoder"`` (z = mu of the encoder applied to the prefix: the completion is conditioned on
        the prefix both through z and through the decoder's state) or ``"prior"`` (z ~ N(0, I); the prefix
        acts through the decoder's state only).
    min_points : the end-of-sketch state is not sampled before this many new points.

    Returns the continuations only (stroke-3, normalised units; the first offset is from the prefix's last
    point).
    """
    if z_source not in ("encoder", "prior"):
        raise ValueError(f"z_source={z_source!r}; use 'encoder' or 'prior'")
    model.eval()
    dev = model.device
    gen = _generator(seed, dev)
    x, lengths = stroke3_to_stroke5(prefixes, device=dev)
    if z_source == "encoder":
        z, _ = model.encode(x[:, 1:], lengths)
    else:
        z = torch.randn(len(prefixes), model.config.z_dim, generator=gen, device=dev)
    # Run the decoder over S0 + prefix, packed so that each item's state is taken after its own last point.
    zz = z.unsqueeze(1).expand(-1, x.shape[1], -1)
    packed = nn.utils.rnn.pack_padded_sequence(torch.cat([x, zz], -1), (lengths + 1).cpu(), batch_first=True,
                                               enforce_sorted=False)
    _, state = model.decoder(packed, model.initial_state(z))
    last = x[torch.arange(len(prefixes), device=dev), lengths]
    return _continue(model, state, last, z, n_points, temperature, gen, min(min_points, n_points))


@torch.no_grad()
def reconstruct(model: SketchRNN, seqs: Sequence[np.ndarray], temperature: float = 0.1, seed: int | None = 0,
                n_points: int | None = None) -> list[np.ndarray]:
    """Encode each drawing (z = mu of the encoder) and decode it again from S0 (Ha and Eck fig. 3).

    ``seqs``: stroke-3 arrays in normalised units; returns stroke-3 arrays (normalised units).
    """
    model.eval()
    dev = model.device
    gen = _generator(seed, dev)
    x, lengths = stroke3_to_stroke5(seqs, device=dev)
    z, _ = model.encode(x[:, 1:], lengths)
    s0 = torch.tensor([[0, 0, 1.0, 0, 0]], device=dev).expand(len(seqs), 5).contiguous()
    return _continue(model, model.initial_state(z), s0, z, n_points or model.config.max_len, temperature, gen)


def baseline_nll_per_point(train_seqs: Sequence[np.ndarray], eval_seqs: Sequence[np.ndarray]) -> float:
    """NLL per point (nats) of a memoryless model: one bivariate Gaussian for (dx, dy) and pen-state frequencies
    fitted on ``train_seqs``, scored on ``eval_seqs`` (offset and pen state p1 / p2 of each real point, the
    points :meth:`SketchRNN.losses`' ``nll_per_point`` averages over). A reference for the RNN's figure.
    """
    from scipy.stats import multivariate_normal

    tr = np.concatenate(train_seqs).astype(np.float64)
    ev = np.concatenate(eval_seqs).astype(np.float64)
    gauss = multivariate_normal(tr[:, :2].mean(0), np.cov(tr[:, :2].T))
    p_lift = tr[:, 2].mean()
    pen = np.where(ev[:, 2] > 0.5, np.log(p_lift), np.log1p(-p_lift))
    return float(-(gauss.logpdf(ev[:, :2]) + pen).mean())


class SketchCompleter:
    """Callable completer for the canvas dialog: ``completer(stroke3, n_points, temperature, seed)``.

    ``stroke3``: the partial drawing (n, 3) in the model's normalised units (divide KanjiVG-sized offsets by
    :attr:`scale`); returns the continuation only, (m, 3) float32 with m <= n_points, same units. z is the
    encoder's mean for the prefix (``z_source="encoder"``) unless ``z_source="prior"``. At least
    ``min_points`` (default 1) rows are returned: the end-of-sketch state is not sampled before, so the machine
    always answers on its turn. An empty ``stroke3`` gives an unconditional sample (z from the prior).
    """

    def __init__(self, model: SketchRNN, temperature: float = 0.5, device="auto", z_source: str = "encoder",
                 min_points: int = 1):
        self.model = model.to(pick_device(device)).eval()
        self.temperature = temperature
        self.z_source = z_source
        self.min_points = min_points

    @property
    def scale(self) -> float:
        """KanjiVG units (box of 109) per normalised unit."""
        return float(self.model.scale)

    def __call__(self, stroke3: np.ndarray, n_points: int, temperature: float | None = None,
                 seed: int | None = 0) -> np.ndarray:
        s3 = _check_stroke3(stroke3).astype(np.float32)
        if n_points < 0:
            raise ValueError(f"n_points={n_points} must be >= 0")
        if n_points == 0:
            return np.zeros((0, 3), np.float32)
        tau = self.temperature if temperature is None else temperature
        if len(s3) == 0:
            return sample(self.model, 1, n_points, tau, seed=seed, min_points=self.min_points)[0]
        return complete(self.model, [s3], n_points, tau, seed, self.z_source, self.min_points)[0]


# ----------------------------------------------------------------------------------------------- drawing
def draw_stroke3(ax, s3: np.ndarray, origin: Sequence[float] = (0.0, 0.0), color="k", lw: float = 2.0,
                 box: float | None = None, **kwargs) -> np.ndarray:
    """Draw a stroke-3 drawing on a matplotlib axis (one line per stroke, y pointing down as in SVG).

    Returns the absolute position (2,) of the last point, so that a continuation can be drawn from it.
    ``box``: when given, the axis shows [0, box] x [0, box] with the y axis inverted and no ticks.
    """
    strokes = stroke3_to_strokes(s3, origin) if len(s3) else []
    for st in strokes:
        ax.plot(st[:, 0], st[:, 1], color=color, lw=lw, solid_capstyle="round", **kwargs)
        if len(st) == 1:
            ax.plot(st[:, 0], st[:, 1], "o", color=color, ms=lw)
    if box is not None:
        ax.set_xlim(0, box)
        ax.set_ylim(box, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return strokes[-1][-1] if strokes else np.asarray(origin, dtype=np.float64)


def codepoint_title(name: str) -> str:
    """A panel title for a KanjiVG file name (its hexadecimal code point, e.g. ``"04e00"`` -> ``"U+4E00"``)."""
    return f"U+{name.upper().lstrip('0')}"


def plot_drawings(drawings: Sequence[Sequence[tuple[np.ndarray, str]]], titles: Sequence[str] | None = None,
                  ncols: int = 6, panel: float = 1.6, box: float = 109.0, scale: float = 1.0, lw: float = 1.8):
    """A grid of drawings; each drawing is a list of (stroke-3 part, colour) drawn one after the other (each
    part starts at the last point of the previous one). Offsets are multiplied by ``scale`` (normalised ->
    KanjiVG units) and shown in a ``box`` x ``box`` frame. Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(drawings)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, parts in enumerate(drawings):
        ax = axes.ravel()[i]
        ax.axis("on")
        origin = np.zeros(2)
        for s3, color in parts:
            s3 = np.asarray(s3, dtype=np.float32)
            if len(s3):
                origin = draw_stroke3(ax, denormalise(s3, scale), origin, color=color, lw=lw)
        ax.set_xlim(0, box)
        ax.set_ylim(box, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def split_strokes(s3: np.ndarray, n_strokes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a stroke-3 drawing after its first ``n_strokes`` strokes: (prefix, rest), both stroke-3."""
    s3 = _check_stroke3(s3)
    ends = np.flatnonzero(s3[:, 2] > 0.5)
    if not 1 <= n_strokes <= len(ends):
        raise ValueError(f"n_strokes={n_strokes} must be in [1, {len(ends)}] (the drawing's number of strokes)")
    cut = int(ends[n_strokes - 1]) + 1
    return s3[:cut], s3[cut:]


# ----------------------------------------------------------------------------------------------- I/O
def save_model(model: SketchRNN, path: str | Path, half: bool = False) -> str:
    """Save config, scale and weights (float16 when ``half``) to ``path``; returns the file's SHA-256."""
    from localbook.data.cache import file_sha256

    sd = {k: (v.half() if half and v.is_floating_point() and k != "scale" else v).cpu()
          for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.config), "state_dict": sd}, path)
    return file_sha256(path)


def load_model(path: str | Path, device="auto", sha256: str | None = None) -> SketchRNN:
    """Load a file written by :func:`save_model` (checked against ``sha256`` when given)."""
    if sha256 is not None:
        from localbook.data import verify_checksum

        verify_checksum(path, sha256)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = SketchRNN(SketchConfig(**blob["config"]))
    model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    return model.to(pick_device(device)).eval()


def load_pretrained(device="auto") -> SketchRNN:
    """The shipped KanjiVG model, after checking its SHA-256 against the manifest (``ChecksumError`` if not)."""
    manifest = WEIGHTS_DIR / MANIFEST_FILE
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} is missing: reinstall localbook, or train the model with "
                                "`python -m localbook.art.sketch train --out localbook/art/data`")
    sums = json.loads(manifest.read_text())
    return load_model(WEIGHTS_DIR / WEIGHTS_FILE, device, sha256=sums[WEIGHTS_FILE])


def read_curve(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The training curve CSV (columns step, split, L_R, KL, ...) as {column: array}; ``split`` is a str array."""
    path = Path(path) if path is not None else WEIGHTS_DIR / CURVE_FILE
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([r[k] for r in rows], dtype=str if k == "split" else float) for k in rows[0]}


# ----------------------------------------------------------------------------------------------- training
@torch.no_grad()
def evaluate_nll(model: SketchRNN, seqs: Sequence[np.ndarray], batch_size: int = 256, sample_z: bool = False,
                 seed: int = 0) -> dict[str, float]:
    """Average losses of :meth:`SketchRNN.losses` over ``seqs`` (normalised stroke-3), z = mu unless sample_z.

    Returns L_s, L_p, L_R (Ha and Eck's normalisation by N_max = the model's max_len), KL and nll_per_point
    (nats per real point), each averaged over sequences.
    """
    model.eval()
    torch.manual_seed(seed)
    acc: dict[str, float] = {}
    for i in range(0, len(seqs), batch_size):
        chunk = seqs[i:i + batch_size]
        x, lengths = stroke3_to_stroke5(chunk, model.config.max_len, device=model.device)
        out = model.losses(x, lengths, sample_z=sample_z)
        for k, v in out.items():
            w = float(lengths.sum()) if k == "nll_per_point" else len(chunk)
            acc[k] = acc.get(k, 0.0) + float(v) * w
    n_pts = float(sum(len(s) for s in seqs))
    return {k: v / (n_pts if k == "nll_per_point" else len(seqs)) for k, v in acc.items()}


def _augment(seqs: list[np.ndarray], rng: np.random.Generator, stretch: float = 0.1) -> list[np.ndarray]:
    """Ha and Eck's augmentation: independent random scalings of x and y in [1 - stretch, 1 + stretch]."""
    f = rng.uniform(1 - stretch, 1 + stretch, size=(len(seqs), 2)).astype(np.float32)
    return [np.concatenate([s[:, :2] * f[i], s[:, 2:]], axis=1) for i, s in enumerate(seqs)]


def train(model: SketchRNN, train_seqs: Sequence[np.ndarray], val_seqs: Sequence[np.ndarray], steps: int,
          batch_size: int = 100, lr: float = 1e-3, lr_decay: float = 0.9999, min_lr: float = 1e-5,
          grad_clip: float = 1.0, eval_every: int = 100, n_val_eval: int = 400, seed: int = 0,
          max_minutes: float | None = None, checkpoint=None, progress: bool | None = None,
          log=None, start_step: int = 0) -> list[dict]:
    """Train with Adam on normalised stroke-3 sequences (Ha and Eck's loss L_R + w_KL eta_step max(KL, KL_min)).

    Every ``eval_every`` steps a row (step, split, L_R, L_s, L_p, KL, nll_per_point, seconds) is appended for
    the training batch (running mean since the last row) and for the first ``n_val_eval`` validation
    sequences (z = mu); ``checkpoint(model, rows)`` is called then. Stops after ``steps`` steps or
    ``max_minutes``. ``start_step`` continues the schedules of an earlier run (fine-tuning). Returns the rows.
    """
    from tqdm.auto import tqdm

    c = model.config
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rows: list[dict] = []
    running: dict[str, float] = {}
    n_run = 0
    t0 = time.perf_counter()
    val = list(val_seqs[:n_val_eval])
    for step in tqdm(range(start_step + 1, start_step + steps + 1), disable=None if progress is None else
                     not progress, desc="sketch-rnn"):
        model.train()
        for g in opt.param_groups:
            g["lr"] = max(min_lr, lr * lr_decay ** (step - 1))
        idx = rng.choice(len(train_seqs), size=min(batch_size, len(train_seqs)), replace=False)
        x, lengths = stroke3_to_stroke5(_augment([train_seqs[i] for i in idx], rng), c.max_len,
                                        device=model.device)
        out = model.losses(x, lengths)
        eta = 1 - (1 - c.eta_min) * c.kl_decay ** step
        loss = out["L_R"] + c.kl_weight * eta * torch.clamp(out["KL"], min=c.kl_min)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        for k, v in out.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        n_run += 1
        if step % eval_every == 0 or step == start_step + steps:
            secs = time.perf_counter() - t0
            rows.append({"step": step, "split": "train", **{k: v / n_run for k, v in running.items()},
                         "seconds": secs})
            if val:
                rows.append({"step": step, "split": "val", **evaluate_nll(model, val), "seconds": secs})
            running, n_run = {}, 0
            if log is not None:
                log(rows[-2:] if val else rows[-1:])
            if checkpoint is not None:
                checkpoint(model, rows)
            if max_minutes is not None and secs > 60 * max_minutes:
                break
    model.eval()
    return rows


def write_curve(rows: list[dict], path: str | Path) -> None:
    keys = ["step", "split", "L_R", "L_s", "L_p", "KL", "nll_per_point", "seconds"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{r[k]:.5g}" if isinstance(r[k], float) else r[k]) for k in keys})


def _cmd_train(args) -> None:
    from localbook.data.kanjivg import load_kanjivg

    data = load_kanjivg(max_len=args.max_len, epsilon=args.epsilon, seed=args.seed,
                        folder=Path(args.kanjivg_dir) if args.kanjivg_dir else None)
    print(data.summary(), flush=True)
    config = SketchConfig(enc_hidden=args.enc_hidden, dec_hidden=args.dec_hidden, z_dim=args.z_dim,
                          n_mixtures=args.mixtures, max_len=args.max_len, kl_weight=args.kl_weight,
                          kl_decay=args.kl_decay)
    torch.manual_seed(args.seed)
    model = SketchRNN(config, scale=data.scale).to(pick_device(args.device))
    tr = [normalise(s, data.scale) for s in data.train]
    va = [normalise(s, data.scale) for s in data.val]
    if args.n_train:
        tr = tr[:args.n_train]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(tr)} training sequences, {sum(p.numel() for p in model.parameters())} parameters, "
          f"config {asdict(config)}", flush=True)

    def log(rows):
        print("  ".join(f"{r['split']} step {r['step']} L_R {r['L_R']:.3f} KL {r['KL']:.3f} "
                        f"nll/pt {r['nll_per_point']:.3f}" for r in rows) + f"  {rows[0]['seconds']:.0f}s",
              flush=True)

    def checkpoint(m, rows):
        sha = save_model(m, out / WEIGHTS_FILE, half=args.half)
        write_curve(rows, out / CURVE_FILE)
        (out / MANIFEST_FILE).write_text(json.dumps({WEIGHTS_FILE: sha}, indent=1) + "\n")

    train(model, tr, va, args.steps, batch_size=args.batch_size, lr=args.lr, eval_every=args.eval_every,
          seed=args.seed, max_minutes=args.max_minutes, checkpoint=checkpoint, progress=False, log=log)
    print(f"saved {out / WEIGHTS_FILE}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localbook.art.sketch", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a Sketch-RNN on KanjiVG and write weights, curve and manifest")
    t.add_argument("--out", default=str(WEIGHTS_DIR))
    t.add_argument("--steps", type=int, default=6000)
    t.add_argument("--max-minutes", type=float, default=40.0)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--enc-hidden", type=int, default=128)
    t.add_argument("--dec-hidden", type=int, default=256)
    t.add_argument("--z-dim", type=int, default=32)
    t.add_argument("--mixtures", type=int, default=20)
    t.add_argument("--max-len", type=int, default=100)
    t.add_argument("--epsilon", type=float, default=0.85)
    t.add_argument("--kl-weight", type=float, default=0.5)
    t.add_argument("--kl-decay", type=float, default=0.9995)
    t.add_argument("--n-train", type=int, default=0, help="use only the first N training sequences (0: all)")
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--half", action="store_true", help="store the weights in float16")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--kanjivg-dir", default="", help="a folder of KanjiVG SVGs (default: the kanjivg package's)")
    args = parser.parse_args(argv)
    if args.command == "train":
        _cmd_train(args)


if __name__ == "__main__":
    main()
