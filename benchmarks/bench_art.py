"""Benchmark: localbook.art.ot against POT (Python Optimal Transport) on the same cost matrices.

    python benchmarks/bench_art.py [--n 512] [--rounds 5]

* log-domain Sinkhorn (eps = 0.05, 200 iterations, so both converge to the same plan) vs
  ``ot.bregman.sinkhorn_log``;
* exact EMD on 100 x 100 clouds: ``localbook.art.ot.exact_emd`` *is* POT's ``ot.emd2`` (network simplex) since the
  hand-written linear programme (SciPy HiGHS, 60x slower) was deleted: the record shows the wrapper's overhead.
Results are checked equal before timing.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np
import ot as pot
import torch

from common import alternating_rounds, record  # noqa: I001
from localbook.art import ot as lot


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Sinkhorn did not converge")  # stopThr=0: fixed iterations

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 64, generator=g, dtype=torch.float64)
    y = torch.randn(args.n, 64, generator=g, dtype=torch.float64)
    cost = lot.cosine_cost(x, y)
    a = np.full(args.n, 1 / args.n)

    def ours():
        return lot.sinkhorn(cost, eps=0.05, n_iter=200).plan

    def theirs():
        return pot.bregman.sinkhorn_log(a, a, cost.numpy(), 0.05, numItermax=200, stopThr=0)

    diff = float(np.abs(ours().numpy() - theirs()).max())
    if diff > 1e-10:
        raise SystemExit(f"Sinkhorn plans differ by {diff:.1e}")
    t = alternating_rounds({"ours": ours, "peer": theirs}, args.rounds)
    record("sinkhorn_log", title=f"log-domain Sinkhorn {args.n} x {args.n}, 200 iterations",
           peer="POT ot.bregman.sinkhorn_log", ours="art.ot.sinkhorn", sizes={"n": args.n, "m": args.n, "dim": 64,
           "eps": 0.05, "iterations": 200}, peer_times=t["peer"], ours_times=t["ours"],
           checks={"max_abs_plan_diff": diff})

    small = cost[:100, :100]
    b = np.full(100, 1 / 100)
    diff = abs(lot.exact_emd(small) - pot.emd2(b, b, small.numpy()))
    if diff > 1e-12:
        raise SystemExit(f"exact EMDs differ by {diff:.1e}")
    calls = 50  # each call takes under a millisecond: time 50 per round
    small_np = small.numpy()
    t = alternating_rounds({"ours": lambda: [lot.exact_emd(small) for _ in range(calls)],
                            "peer": lambda: [pot.emd2(b, b, small_np) for _ in range(calls)]}, args.rounds)
    record("exact_emd", title="exact EMD 100 x 100", peer="POT ot.emd2 (network simplex)",
           ours="art.ot.exact_emd (calls ot.emd2)", sizes={"n": 100, "m": 100, "calls_per_round": calls},
           peer_times=t["peer"], ours_times=t["ours"], checks={"abs_diff": diff},
           notes="the hand-written SciPy HiGHS linear programme was 60x slower and is deleted; what remains is "
                 "the wrapper's input checks")


if __name__ == "__main__":
    main()
