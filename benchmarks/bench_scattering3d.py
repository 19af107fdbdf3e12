"""Benchmark: localbook.scattering3d versus kymatio's HarmonicScattering3D on the same batch.

8 densities of random Gaussian atoms on a 64^3 periodic grid, J = 2 (j = 0, 1, 2), L = 3 (l = 0..3),
powers q = 0.5, 1, 2, 3, orders 1 and 2 (kymatio has no order 0), float32, same device. Both outputs are
checked equal (relative 1e-4) before timing. After one warm-up call each (filters built), the two are
timed alternately ``--repeats`` times, so that a change in the machine's load hits both alike; prints the
best time of each and the median of the per-round ratios kymatio / localbook.

    python benchmarks/bench_scattering3d.py [--device cpu] [--size 64] [--batch 8] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import localbook  # noqa: F401  (installs the SciPy shim kymatio 0.3.0 needs)
import torch
from kymatio.torch import HarmonicScattering3D

from localbook.device import pick_device
from localbook.scattering3d import backend
from localbook.scattering3d.grid import GridScattering
from localbook.scattering3d.labels import kymatio_layout


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    device = pick_device(args.device)
    n, qs = args.size, (0.5, 1.0, 2.0, 3.0)
    gen = torch.Generator().manual_seed(0)
    n_atoms = max(n ** 3 // 800, 1)  # about the density of a solid at 1.5 grid steps per Gaussian width
    pos = torch.rand(args.batch, n_atoms, 3, generator=gen, dtype=torch.float64) * n
    w = 0.5 + torch.rand(args.batch, n_atoms, 1, generator=gen, dtype=torch.float64)
    rho = backend.to_space(backend.density_hat(pos, w, (n, n, n), (n, n, n), sigma=1.5), (n, n, n))[:, 0]
    rho = rho.to(device).contiguous()

    compare(rho, qs, 2, device, args.repeats)
    # the iron descriptor of chapter 04: first order, q = 2 only (Parseval in Fourier space, no inverse FFT)
    compare(rho, (2.0,), 1, device, args.repeats)


def compare(rho, qs, max_order, device, repeats):
    """Check both codes agree on ``rho``, then time them in alternating rounds and print the ratio."""
    n = rho.shape[-1]
    ours = GridScattering((n, n, n), js=(0, 1, 2), ls=(0, 1, 2, 3), qs=qs, sigma_w=1.0, max_order=max_order,
                          include_order0=False, device=device)
    kym = HarmonicScattering3D(J=2, shape=(n, n, n), L=3, sigma_0=1, max_order=max_order,
                               integral_powers=qs).to(device)
    a = ours(rho)[:, 0]
    b = kymatio_layout(kym(rho), ours.labels)
    rel = ((a - b).abs() / b.abs()).max().item()
    print(f"max relative difference localbook vs kymatio: {rel:.2e}")
    if rel > 1e-4:
        raise SystemExit("outputs differ by more than 1e-4: not timing different computations")
    rounds = [(timed(lambda: kym(rho), device), timed(lambda: ours(rho), device)) for _ in range(repeats)]
    t_kym, t_ours = min(k for k, _ in rounds), min(o for _, o in rounds)
    ratios = sorted(k / o for k, o in rounds)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {rho.shape[0]} x {n}^3, "
          f"J=2, L=3, q={qs}, orders 1-{max_order}")
    print(f"kymatio HarmonicScattering3D: best {t_kym:.3f} s")
    print(f"localbook GridScattering:     best {t_ours:.3f} s")
    print(f"speed-up (kymatio / localbook): median of {len(ratios)} alternating rounds "
          f"{ratios[len(ratios) // 2]:.2f}x (range {ratios[0]:.2f}-{ratios[-1]:.2f}x), ratio of best times "
          f"{t_kym / t_ours:.2f}x")


if __name__ == "__main__":
    main()
