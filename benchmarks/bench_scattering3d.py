"""Benchmark: localbook.scattering3d versus kymatio's HarmonicScattering3D on the same batch.

8 densities of random Gaussian atoms (width 1.5 grid steps) on a 64^3 periodic grid, J = 2 (j = 0, 1, 2),
L = 3 (l = 0..3), powers q = 1/2, 1, 2, 3, orders 1 and 2 (kymatio has no order 0), float32, same device.

* exact mode: checked equal to kymatio (relative 1e-4) before timing;
* multi-resolution mode at oversampling 1 and 2 (each scale on its own coarser grid): its difference from the exact
  mode is printed beside the *grid-invariance error* of the exact mode on the same densities, i.e. how much the
  coefficients move when every atom is shifted by a random fraction of a grid step (the error chapter 01 tabulates
  for methane). Both as the largest relative difference per coefficient and relative to the largest coefficient
  of each structure (chapter 01's measure);
* the iron descriptor of chapter 04: first order, q = 2 only (Parseval in Fourier space, no inverse FFT).

The contenders are timed in alternating rounds (``--rounds``), after one warm-up call each (filters built), and
each record gives the median times and the median of the per-round ratios.

    python benchmarks/bench_scattering3d.py [--device cpu] [--size 64] [--batch 8] [--rounds 5]
"""
from __future__ import annotations

import argparse

import localbook  # noqa: F401  (installs the SciPy shim kymatio 0.3.0 needs)
import torch
from kymatio.torch import HarmonicScattering3D

from common import alternating_rounds, record  # noqa: I001  (benchmarks/ is the working directory of make bench)
from localbook.device import pick_device
from localbook.scattering3d import backend
from localbook.scattering3d.grid import GridScattering
from localbook.scattering3d.labels import kymatio_layout


def densities(n, batch, device, shift=None, seed=0):
    """``batch`` densities of about ``n^3 / 800`` random atoms (weights 0.5-1.5, width 1.5 steps) on an ``n^3`` grid;
    ``shift`` (3,) moves every atom (grid steps)."""
    gen = torch.Generator().manual_seed(seed)
    n_atoms = max(n ** 3 // 800, 1)  # about the density of a solid at 1.5 grid steps per Gaussian width
    pos = torch.rand(batch, n_atoms, 3, generator=gen, dtype=torch.float64) * n
    w = 0.5 + torch.rand(batch, n_atoms, 1, generator=gen, dtype=torch.float64)
    if shift is not None:
        pos = pos + torch.as_tensor(shift, dtype=torch.float64)
    rho = backend.to_space(backend.density_hat(pos, w, (n, n, n), (n, n, n), sigma=1.5), (n, n, n))[:, 0]
    return rho.to(device).contiguous()


def errors(a, b):
    """Largest relative difference per coefficient, and largest difference relative to each structure's largest
    coefficient (chapter 01's measure), of ``a`` against the reference ``b`` ``(B, F)``."""
    per_coefficient = float(((a - b).abs() / b.abs()).max())
    per_structure = float(((a - b).abs().amax(-1) / b.abs().amax(-1)).max())
    return per_coefficient, per_structure


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    device = pick_device(args.device)
    n, qs = args.size, (0.5, 1.0, 2.0, 3.0)
    rho = densities(n, args.batch, device)
    sizes = {"batch": args.batch, "grid": f"{n}^3", "J": 2, "L": 3, "q": list(qs), "orders": "1-2",
             "dtype": "float32"}
    kw = dict(js=(0, 1, 2), ls=(0, 1, 2, 3), qs=qs, sigma_w=1.0, max_order=2, include_order0=False, device=device)
    exact = GridScattering((n, n, n), **kw)
    multi = {o: GridScattering((n, n, n), resolution="multi", oversampling=o, **kw) for o in (1.0, 2.0)}
    kym = HarmonicScattering3D(J=2, shape=(n, n, n), L=3, sigma_0=1, max_order=2, integral_powers=qs).to(device)

    ref = kymatio_layout(kym(rho), exact.labels)
    s_exact = exact(rho)[:, 0]
    vs_kymatio = errors(s_exact, ref)[0]
    print(f"exact vs kymatio: largest relative difference {vs_kymatio:.2e}")
    if vs_kymatio > 1e-4:
        raise SystemExit("outputs differ by more than 1e-4: not timing different computations")
    shift = torch.rand(3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # < 1 step
    invariance = errors(exact(densities(n, args.batch, device, shift=shift))[:, 0], s_exact)
    print(f"grid-invariance error of the exact mode (atoms shifted by {shift.numpy().round(3)} steps): "
          f"{invariance[0]:.2e} per coefficient, {invariance[1]:.2e} of the largest coefficient")
    multi_err = {}
    for o, engine in multi.items():
        multi_err[o] = errors(engine(rho)[:, 0], s_exact)
        grids = {j: band.shape[0] for j, band in engine.bank.bands.items()}
        print(f"multi-resolution, oversampling {o:g} (grids per scale j: {grids}) vs exact: {multi_err[o][0]:.2e} "
              f"per coefficient, {multi_err[o][1]:.2e} of the largest coefficient")

    fns = {"kymatio": lambda: kym(rho), "exact": lambda: exact(rho)}
    fns.update({f"multi{o:g}": (lambda e=e: e(rho)) for o, e in multi.items()})
    times = alternating_rounds(fns, args.rounds, device)
    record("scattering3d_exact", title="3-D solid harmonic scattering, exact", peer="kymatio HarmonicScattering3D",
           ours="GridScattering (exact)", sizes=sizes, peer_times=times["kymatio"], ours_times=times["exact"],
           checks={"max_rel_diff_vs_kymatio": vs_kymatio, "grid_invariance_error_per_coefficient": invariance[0],
                   "grid_invariance_error_of_largest": invariance[1]}, device=device)
    for o in multi:
        record(f"scattering3d_multi_o{o:g}",
               title=f"3-D solid harmonic scattering, multi-resolution (oversampling {o:g})",
               peer="kymatio HarmonicScattering3D", ours=f"GridScattering (multi, oversampling {o:g})", sizes=sizes,
               peer_times=times["kymatio"], ours_times=times[f"multi{o:g}"],
               checks={"max_rel_diff_vs_exact": multi_err[o][0], "diff_vs_exact_of_largest": multi_err[o][1],
                       "grid_invariance_error_per_coefficient": invariance[0],
                       "grid_invariance_error_of_largest": invariance[1]},
               notes="error measured against the exact mode on the same densities; the grid-invariance error is the "
                     "exact mode's own change under a sub-step shift of the atoms", device=device)

    # the iron descriptor of chapter 04: first order, q = 2 only (Parseval in Fourier space, no inverse FFT)
    first = GridScattering((n, n, n), **{**kw, "qs": (2.0,), "max_order": 1})
    kym1 = HarmonicScattering3D(J=2, shape=(n, n, n), L=3, sigma_0=1, max_order=1, integral_powers=(2.0,)).to(device)
    rel = errors(first(rho)[:, 0], kymatio_layout(kym1(rho), first.labels))[0]
    if rel > 1e-4:
        raise SystemExit(f"first-order q = 2 outputs differ by {rel:.2e} > 1e-4")
    times = alternating_rounds({"kymatio": lambda: kym1(rho), "ours": lambda: first(rho)}, args.rounds, device)
    record("scattering3d_first_order_q2", title="3-D scattering, first order, q = 2 (Parseval)",
           peer="kymatio HarmonicScattering3D", ours="GridScattering (Parseval route)",
           sizes={**sizes, "q": [2.0], "orders": "1"}, peer_times=times["kymatio"], ours_times=times["ours"],
           checks={"max_rel_diff_vs_kymatio": rel}, device=device)


if __name__ == "__main__":
    main()
