"""Benchmark: the oversampled scattering front end of chapter 5 against kymatio's own Scattering2D.

Peers, on the same Fashion-MNIST-sized images (28 x 28, J = 2, L = 8, order 2):
* kymatio ``Scattering2D(J=2)`` -- no oversampling, a descriptor every 4 px (the cost floor: ours does 4x the work);
* kymatio ``Scattering2D(J=2)`` called once per shifted copy (4 calls) -- what oversampling costs without batching;
* ``ScatteringFrontEnd(J=2, oversampling=1)`` -- one batched call on the 4 shifted copies, a descriptor every 2 px.
Prints seconds per 1,000 images and ratios to the plain kymatio transform.

    .venv/bin/python benchmarks/bench_scattering_cnn.py [n_images]
"""
from __future__ import annotations

import sys
import time

import torch

import localbook  # noqa: F401  (SciPy shim before kymatio)
from kymatio.torch import Scattering2D

from localbook.images.scattering_cnn import ScatteringFrontEnd


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(n: int = 512) -> None:
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    plain = Scattering2D(J=2, shape=(28, 28), L=8, max_order=2)
    ours = ScatteringFrontEnd(2, (28, 28), L=8, max_order=2, oversampling=1)
    xp = torch.nn.functional.pad(x, (0, 2, 0, 2), mode="reflect")
    copies = [xp[..., a:a + 28, b:b + 28].contiguous() for a in (0, 2) for b in (0, 2)]
    with torch.no_grad():
        t_plain = best_of(lambda: plain(x))
        t_loop = best_of(lambda: [plain(c) for c in copies])
        t_ours = best_of(lambda: ours(x))
    per_k = 1000 / n
    print(f"{n} images 28x28, J=2, L=8, order 2, torch threads {torch.get_num_threads()}")
    print(f"kymatio Scattering2D, no oversampling       {t_plain * per_k:7.3f} s / 1000 images   ratio 1.00")
    print(f"kymatio, 4 calls on shifted copies (o = 1)  {t_loop * per_k:7.3f} s / 1000 images   ratio "
          f"{t_loop / t_plain:.2f}")
    print(f"ScatteringFrontEnd(oversampling=1), batched {t_ours * per_k:7.3f} s / 1000 images   ratio "
          f"{t_ours / t_plain:.2f}   (vs 4 calls: {t_ours / t_loop:.2f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 512)
