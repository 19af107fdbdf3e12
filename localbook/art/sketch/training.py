"""Training and evaluating the sketch RNN: the loop (Adam, KL annealing, augmentation), held-out NLL, the
learning curve on disk, and the trivial baseline (an isotropic Gaussian per offset)."""
from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from localbook.art.sketch.model import SketchRNN
from localbook.data.strokes import stroke3_to_stroke5


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


