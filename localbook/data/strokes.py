"""Pen-stroke formats of the sketch model (Ha and Eck 2018), shared by the KanjiVG loader and the sketch RNN.

* **Stroke-3**: an (n, 3) float32 array of rows (dx, dy, pen_lifted); dx, dy is the offset of a point from the
  previous one (the first from an origin), ``pen_lifted = 1`` when the pen leaves the paper after this point.
  :func:`strokes_to_stroke3` / :func:`stroke3_to_strokes` convert from / to lists of absolute (k, 2) arrays.
* **Stroke-5** (the network's format): rows (dx, dy, p1, p2, p3), one-hot pen state (p1 pen down after the
  point, p2 pen lifted, p3 end of the sketch), starting with S0 = (0, 0, 1, 0, 0) and padded with
  (0, 0, 0, 0, 1) (:func:`stroke3_to_stroke5`).
* :func:`normalise` / :func:`denormalise`: offsets divided / multiplied by the dataset's offset scale.

A data-layer module (it imports no other localbook module): :mod:`localbook.data.kanjivg` writes these formats
and :mod:`localbook.art.sketch` trains on them (and re-exports them).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["strokes_to_stroke3", "stroke3_to_strokes", "normalise", "denormalise", "offset_scale",
           "stroke3_to_stroke5", "stroke5_to_stroke3"]


def strokes_to_stroke3(strokes: Sequence[np.ndarray], origin: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """Absolute strokes -> stroke-3.

    Parameters
    ----------
    strokes : list of (k, 2) arrays of absolute (x, y) points, one per stroke, in drawing order (k >= 1).
    origin : the point the first offset is measured from.

    Returns
    -------
    (n, 3) float32, n = total number of points: (dx, dy, pen_lifted); pen_lifted = 1 on the last point of
    each stroke. The offsets are computed in float64 before the cast, so integer coordinates round-trip
    exactly through :func:`stroke3_to_strokes`.
    """
    if len(strokes) == 0:
        raise ValueError("strokes is empty: pass a list with at least one (k, 2) array of points")
    arrays = []
    for i, s in enumerate(strokes):
        a = np.asarray(s, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != 2 or len(a) == 0:
            raise ValueError(f"stroke {i} has shape {a.shape}; each stroke must be a (k, 2) array with k >= 1")
        arrays.append(a)
    pts = np.concatenate(arrays)
    if not np.all(np.isfinite(pts)):
        raise ValueError("strokes contain NaN or infinite coordinates")
    out = np.zeros((len(pts), 3), dtype=np.float64)
    out[:, :2] = np.diff(pts, axis=0, prepend=np.asarray(origin, dtype=np.float64)[None])
    out[np.cumsum([len(a) for a in arrays]) - 1, 2] = 1.0
    return out.astype(np.float32)


def stroke3_to_strokes(s3: np.ndarray, origin: Sequence[float] = (0.0, 0.0)) -> list[np.ndarray]:
    """Stroke-3 -> list of (k, 2) float64 arrays of absolute points (cumulative sums from ``origin``).

    A trailing group of points without a final pen lift (an unfinished stroke) is returned as a last stroke.
    """
    s3 = _check_stroke3(s3)
    pts = np.cumsum(s3[:, :2].astype(np.float64), axis=0) + np.asarray(origin, dtype=np.float64)
    ends = np.flatnonzero(s3[:, 2] > 0.5) + 1
    return [p for p in np.split(pts, ends) if len(p)]


def _check_stroke3(s3) -> np.ndarray:
    s3 = np.asarray(s3)
    if s3.ndim != 2 or s3.shape[1] != 3:
        raise ValueError(f"stroke-3 must be an (n, 3) array (dx, dy, pen_lifted), got shape {s3.shape}")
    return s3


def normalise(s3: np.ndarray, scale: float) -> np.ndarray:
    """Offsets divided by ``scale`` (e.g. KanjiVG units -> the model's normalised units); pen column kept."""
    out = np.array(_check_stroke3(s3), dtype=np.float32, copy=True)
    out[:, :2] /= scale
    return out


def denormalise(s3: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`normalise`: offsets multiplied by ``scale``."""
    out = np.array(_check_stroke3(s3), dtype=np.float32, copy=True)
    out[:, :2] *= scale
    return out


def offset_scale(seqs: Sequence[np.ndarray]) -> float:
    """Ha and Eck's normalising factor: the standard deviation of all (dx, dy) offsets of ``seqs``."""
    return float(np.concatenate([np.asarray(s)[:, :2] for s in seqs]).std())


def stroke3_to_stroke5(seqs: Sequence[np.ndarray], max_len: int | None = None, start_token: bool = True,
                       device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of stroke-3 sequences -> padded stroke-5 tensor and lengths.

    Returns ``(x, lengths)``: x of shape (B, T + start_token, 5), T = ``max_len`` (default: the longest
    sequence); row 0 is S0 = (0, 0, 1, 0, 0) when ``start_token``; each sequence's points follow, then the
    padding (0, 0, 0, 0, 1) (the end-of-sketch state). ``lengths``: (B,) int64 number of points (without S0).
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if len(seqs) == 0 or lengths.min() < 1:
        raise ValueError("stroke3_to_stroke5 needs a non-empty list of non-empty stroke-3 arrays")
    T = int(lengths.max()) if max_len is None else int(max_len)
    if lengths.max() > T:
        raise ValueError(f"a sequence has {lengths.max()} points, more than max_len={T}; crop or drop it")
    off = int(start_token)
    x = np.zeros((len(seqs), T + off, 5), dtype=np.float32)
    x[:, :, 4] = 1.0
    if start_token:
        x[:, 0] = (0, 0, 1, 0, 0)
    flat = np.concatenate([_check_stroke3(s) for s in seqs]).astype(np.float32)
    b = np.repeat(np.arange(len(seqs)), lengths)
    t = np.concatenate([np.arange(n) for n in lengths]) + off
    x[b, t, :2] = flat[:, :2]
    lifted = flat[:, 2] > 0.5
    x[b, t, 2] = ~lifted
    x[b, t, 3] = lifted
    x[b, t, 4] = 0.0
    return torch.from_numpy(x).to(device), torch.from_numpy(lengths).to(device)


def stroke5_to_stroke3(s5: np.ndarray | torch.Tensor) -> np.ndarray:
    """One stroke-5 sequence (T, 5) -> stroke-3, stopping before the first end-of-sketch row (p3 = 1)."""
    s5 = s5.detach().cpu().numpy() if isinstance(s5, torch.Tensor) else np.asarray(s5)
    end = np.flatnonzero(s5[:, 4] > 0.5)
    n = int(end[0]) if len(end) else len(s5)
    out = np.zeros((n, 3), dtype=np.float32)
    out[:, :2] = s5[:n, :2]
    out[:, 2] = s5[:n, 3]
    return out
