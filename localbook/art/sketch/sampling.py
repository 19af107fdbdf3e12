"""Sampling from a trained :class:`~localbook.art.sketch.model.SketchRNN`: temperature sampling (Ha and Eck
section 3.3), completion of partial drawings (:class:`SketchCompleter`, the canvas' machine player), reconstruction."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from localbook.art.sketch.model import SketchRNN, _split_params
from localbook.data.strokes import _check_stroke3, stroke3_to_stroke5, stroke5_to_stroke3
from localbook.device import pick_device


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



def split_strokes(s3: np.ndarray, n_strokes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a stroke-3 drawing after its first ``n_strokes`` strokes: (prefix, rest), both stroke-3."""
    s3 = _check_stroke3(s3)
    ends = np.flatnonzero(s3[:, 2] > 0.5)
    if not 1 <= n_strokes <= len(ends):
        raise ValueError(f"n_strokes={n_strokes} must be in [1, {len(ends)}] (the drawing's number of strokes)")
    cut = int(ends[n_strokes - 1]) + 1
    return s3[:cut], s3[cut:]


