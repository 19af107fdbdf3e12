"""The self-style recursion ``x_{t+1} = f(x_t, x_t)`` (thesis eq. 6.1) and metrics of its sequences.

A style transfer method ``f(style, content)`` should satisfy ``f(x, x) ~ x``. The thesis observes that
optimisation-based methods settle at such a fixed point, while feed-forward methods drift into saturated,
tessellated patterns that bear no resemblance to ``x_0`` (thesis figs. 6.11-6.13). :func:`recursion_metrics`
quantifies it per iteration.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = ["self_style_recursion", "recursion_metrics", "saturated_fraction"]


def self_style_recursion(f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x0: torch.Tensor,
                         n_iter: int, progress: bool | None = None) -> list[torch.Tensor]:
    """Iterate ``x_{t+1} = f(x_t, x_t)`` (thesis eq. 6.1) ``n_iter`` times from ``x0`` (1, 3, H, W) in [0, 1].

    Returns ``[x_0, x_1, ..., x_{n_iter}]``; ``f`` is called as ``f(style, content)``.
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    seq = [x0]
    for _ in tqdm(range(n_iter), desc="x_{t+1} = f(x_t, x_t)", leave=False,
                  disable=None if progress is None else not progress):
        seq.append(f(seq[-1], seq[-1]).detach())
    return seq


def saturated_fraction(x: torch.Tensor, tol: float = 0.02) -> float:
    """Fraction of colour values (pixels x channels) within ``tol`` of 0 or 1 (clamped, saturated colours)."""
    return float(((x <= tol) | (x >= 1 - tol)).float().mean())


def recursion_metrics(seq: list[torch.Tensor], tol: float = 0.02) -> dict[str, np.ndarray]:
    """Per-iteration metrics of a sequence of images ``[x_0, ..., x_T]``, each (1, 3, H, W) in [0, 1].

    Returns arrays of length T + 1: ``to_start`` (RMS distance to ``x_0``), ``to_previous`` (RMS distance
    to ``x_{t-1}``; 0 at t = 0), ``saturated`` (:func:`saturated_fraction`), ``std`` (standard deviation of
    the values, a collapse to a flat image shows as 0). Distances are in units of the [0, 1] intensity scale.
    """
    if len(seq) < 1:
        raise ValueError("the sequence is empty")
    shapes = {tuple(x.shape) for x in seq}
    if len(shapes) != 1:
        raise ValueError(f"all images of the sequence must have one shape, got {sorted(shapes)}")
    stack = torch.stack([x.detach().reshape(-1) for x in seq]).double()
    to_start = (stack - stack[:1]).square().mean(1).sqrt()
    to_prev = torch.cat([stack.new_zeros(1), (stack[1:] - stack[:-1]).square().mean(1).sqrt()])
    saturated = ((stack <= tol) | (stack >= 1 - tol)).double().mean(1)
    return {"to_start": to_start.cpu().numpy(), "to_previous": to_prev.cpu().numpy(),
            "saturated": saturated.cpu().numpy(), "std": stack.std(1).cpu().numpy()}
