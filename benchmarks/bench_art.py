"""Benchmark: localbook.art.ot against POT (Python Optimal Transport) on the same cost matrices.

    .venv/bin/python benchmarks/bench_art.py [--n 512] [--repeat 3]

* log-domain Sinkhorn (eps = 0.05, 200 iterations, so both converge to the same plan) vs
  ``ot.bregman.sinkhorn_log``;
* exact EMD by linear programming (scipy HiGHS) vs ``ot.emd2`` (network simplex), on 100 x 100 clouds.
Prints the times, the ratio and the largest difference of the results.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from localbook.art import ot as lot


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import ot as pot

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(args.n, 64, generator=g, dtype=torch.float64), torch.randn(args.n, 64, generator=g, dtype=torch.float64)
    cost = lot.cosine_cost(x, y)
    a = np.full(args.n, 1 / args.n)
    t_ours, ours = best_of(lambda: lot.sinkhorn(cost, eps=0.05, n_iter=200).plan, args.repeat)
    warnings.filterwarnings("ignore", message="Sinkhorn did not converge")  # stopThr=0: fixed iterations
    t_pot, theirs = best_of(lambda: pot.bregman.sinkhorn_log(a, a, cost.numpy(), 0.05, numItermax=200, stopThr=0),
                            args.repeat)
    print(f"Sinkhorn {args.n}x{args.n}, 200 it: localbook {t_ours:.3f} s, POT sinkhorn_log {t_pot:.3f} s, "
          f"ratio POT/localbook {t_pot / t_ours:.2f}, max |plan difference| {np.abs(ours.numpy() - theirs).max():.1e}")
    small = cost[:100, :100]
    b = np.full(100, 1 / 100)
    t_lp, emd_lp = best_of(lambda: lot.exact_emd(small), args.repeat)
    t_ns, emd_ns = best_of(lambda: pot.emd2(b, b, small.numpy()), args.repeat)
    print(f"exact EMD 100x100: localbook (HiGHS LP) {t_lp:.3f} s, POT emd2 {t_ns:.4f} s, "
          f"ratio POT/localbook {t_ns / t_lp:.3f}, |difference| {abs(emd_lp - emd_ns):.1e}")


if __name__ == "__main__":
    main()
