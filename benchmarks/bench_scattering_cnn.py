"""Benchmark: chapter 05's oversampled 2-D scattering against kymatio's own Scattering2D.

Peers, on the same Fashion-MNIST-sized images (28 x 28, J = 2, L = 8, order 2):
* kymatio ``Scattering2D(J=2)`` -- no oversampling, a descriptor every 4 px (the cost floor: o = 1 does 4x the work);
* kymatio ``Scattering2D(J=2)`` called once per shifted copy (4 calls), by hand -- what a user would write;
* ``OversampledScattering2D(J=2, oversampling=1)`` -- a descriptor every 2 px.
The outputs are checked equal first. Timed in alternating rounds (so that a change in the machine's load hits
all alike); prints seconds per 1,000 images (best round) and the median over rounds of the ratio
peer time / localbook time.

    .venv/bin/python benchmarks/bench_scattering_cnn.py [--images 512] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


from localbook._compat import use_kymatio
from localbook.images.scattering2d import OversampledScattering2D

Scattering2D = use_kymatio().Scattering2D


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.images
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    plain = Scattering2D(J=2, shape=(28, 28), L=8, max_order=2)
    ours = OversampledScattering2D(2, (28, 28), L=8, max_order=2, oversampling=1)
    xp = torch.nn.functional.pad(x, (0, 2, 0, 2), mode="reflect")
    copies = [xp[..., a:a + 28, b:b + 28].contiguous() for a in (0, 2) for b in (0, 2)]

    def by_hand():
        s = torch.stack([plain(c) for c in copies]).reshape(2, 2, n, 81, 7, 7)   # (a, b, B, K, h, w)
        return s.permute(2, 3, 4, 0, 5, 1).reshape(n, 81, 14, 14)

    routes = {"kymatio, no oversampling": lambda: plain(x), "kymatio, 4 calls by hand (o = 1)": by_hand,
              "localbook OversampledScattering2D (o = 1)": lambda: ours(x)}
    with torch.no_grad():
        torch.testing.assert_close(ours(x), by_hand(), rtol=0, atol=0)
        times = {name: [] for name in routes}
        for _ in range(args.rounds):
            for name, fn in routes.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    ours_t = times["localbook OversampledScattering2D (o = 1)"]
    print(f"{n} images 28x28, J=2, L=8, order 2, torch threads {torch.get_num_threads()}, {args.rounds} rounds")
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, ours_t))
        print(f"{name:44s} {min(t) * 1000 / n:7.3f} s / 1000 images   peer / localbook {ratio:5.2f}")


if __name__ == "__main__":
    main()
