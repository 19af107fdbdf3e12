"""Benchmark: the sketch RNN's vectorised pieces against direct peers, on the same inputs.

    .venv/bin/python benchmarks/bench_sketch.py [--n 500] [--m 20] [--batch 32] [--repeat 3] [--device cpu]

* the mixture-density NLL (``localbook.art.sketch.mixture_nll``, batched torch in log space) vs
  ``scipy.stats.multivariate_normal.pdf`` summed over the components (a double loop over points and
  components: a frozen scipy distribution has one mean and covariance), on n points and m components;
  prints the times, the ratio and the largest difference;
* batched completion (``sketch.complete`` on B prefixes at once) vs B calls of ``SketchCompleter`` (one prefix
  each), with the shipped model, 20 new points each.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.stats import multivariate_normal

from localbook.art import sketch
from localbook.device import best_of, pick_device


def scipy_mixture_nll(pi, mx, my, sx, sy, rho, dx, dy):
    p = np.zeros(len(dx))
    pts = np.stack([dx, dy], 1)
    for i in range(len(dx)):  # scipy's frozen distribution takes one mean / covariance at a time
        for j in range(pi.shape[1]):
            cov = [[sx[i, j] ** 2, rho[i, j] * sx[i, j] * sy[i, j]], [rho[i, j] * sx[i, j] * sy[i, j], sy[i, j] ** 2]]
            p[i] += pi[i, j] * multivariate_normal.pdf(pts[i], [mx[i, j], my[i, j]], cov)
    return -np.log(p)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    dev = pick_device(args.device)
    g = torch.Generator().manual_seed(0)
    n, m = args.n, args.m
    logit_pi, mx, my = (torch.randn(n, m, generator=g, dtype=torch.float64) for _ in range(3))
    lsx, lsy = (0.3 * torch.randn(n, m, generator=g, dtype=torch.float64) for _ in range(2))
    rho = torch.tanh(torch.randn(n, m, generator=g, dtype=torch.float64))
    dx, dy = torch.randn(n, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    args_t = [t.to(dev) for t in (logit_pi, mx, my, lsx, lsy, rho, dx, dy)]
    t_ours, ours = best_of(lambda: sketch.mixture_nll(*args_t), args.repeat)
    np_args = (torch.softmax(logit_pi, -1).numpy(), mx.numpy(), my.numpy(), lsx.exp().numpy(), lsy.exp().numpy(),
               rho.numpy(), dx.numpy(), dy.numpy())
    t_sc, theirs = best_of(lambda: scipy_mixture_nll(*np_args), 1)
    print(f"mixture NLL, {n} points x {m} components: localbook {t_ours * 1e3:.2f} ms, scipy.stats loop "
          f"{t_sc * 1e3:.0f} ms, ratio scipy/localbook {t_sc / t_ours:.0f}, "
          f"max |difference| {np.abs(ours.cpu().numpy() - theirs).max():.1e} nats")

    try:
        model = sketch.load_pretrained(device=dev)
    except FileNotFoundError as err:
        print(f"completion benchmark skipped: {err}")
        return
    from localbook.data.kanjivg import load_kanjivg

    data = load_kanjivg(max_len=model.config.max_len)
    prefixes = [sketch.split_strokes(sketch.normalise(s, float(model.scale)), 1)[0] for s in data.val[:args.batch]]
    comp = sketch.SketchCompleter(model, device=dev)
    t_batch, _ = best_of(lambda: sketch.complete(model, prefixes, 20, 0.5, seed=0), args.repeat)
    t_loop, _ = best_of(lambda: [comp(p, 20, 0.5, 0) for p in prefixes], args.repeat)
    print(f"completion of {len(prefixes)} prefixes, 20 points: batched {t_batch:.2f} s, one by one {t_loop:.2f} s, "
          f"ratio {t_loop / t_batch:.1f}")


if __name__ == "__main__":
    main()
