"""Sampling and aliasing of first-order densities ``U_{l,j}[rho]`` (thesis section 2.2).

Lengths are in units of the Gaussian width ``sigma`` unless a function says otherwise; spectra are
normalised by their value at zero frequency (``int U``), so that they do not depend on the box.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from localbook.scattering3d import backend
from localbook.scattering3d.channels import atom_channels
from localbook.scattering3d.filters import frequency_grid
from localbook.scattering3d.grid import GridScattering
from localbook.scattering3d.sampling import smooth_size

__all__ = ["gaussians_first_order", "radial_envelope", "line_spectrum", "fit_loglog_slope",
           "cube_shell_envelope", "nyquist_grid_size", "TwoGaussianView", "two_gaussian_view",
           "plot_two_gaussian_view", "invariance_errors", "density_slice", "nyquist_face_modulus"]


def gaussians_first_order(centres, l: int, j: float, sigma: float, sigma_w: float, n: int, box: float,
                          device="cpu", dtype=torch.float64) -> torch.Tensor:
    """``U_{l,j}[rho]`` on an ``n^3`` grid of a periodic cubic box of side ``box`` (same unit as ``sigma``),
    for ``rho`` a sum of unit Gaussians at ``centres`` ``(K, 3)`` given relative to the box centre.
    Returns a real ``(n, n, n)`` tensor; grid point ``i`` is at ``i * box / n - box / 2``."""
    c = torch.as_tensor(np.asarray(centres, float) + box / 2, dtype=torch.float64, device=device)[None]
    w = torch.ones(1, c.shape[1], 1, dtype=torch.float64, device=device)
    shape, lengths = (n, n, n), (box, box, box)
    rho_hat = backend.density_hat(c, w, shape, lengths, sigma, dtype=dtype)
    engine = GridScattering(shape, lengths, js=(j,), ls=(l,), qs=(1.0,), sigma_w=sigma_w, max_order=1,
                            include_order0=False, device=device, dtype=dtype)
    return engine.first_order_density(rho_hat, l, j)[0, 0]


def _spectrum(u: torch.Tensor, box: float):
    n = u.shape[-1]
    step = box / n
    mod = torch.fft.rfftn(u.to(torch.float64)).abs().cpu().numpy()
    mod = mod / mod[0, 0, 0]
    wx, wy, wz = (w.numpy() for w in frequency_grid((n, n, n), (box, box, box)))
    return mod, (wx, wy, wz), step


def radial_envelope(u: torch.Tensor, box: float, n_bins: int | None = None):
    """Largest normalised Fourier modulus ``|U_hat(w)| / U_hat(0)`` in spherical shells of ``|w|``.

    Returns ``(w, envelope)``: shell centres (radians per length unit) up to the Nyquist frequency
    ``pi n / box`` and the maximum of the modulus in each shell."""
    mod, (wx, wy, wz), step = _spectrum(u, box)
    r = np.sqrt(wx ** 2 + wy ** 2 + wz ** 2)
    w_nyq = math.pi / step
    n_bins = n_bins or u.shape[-1] // 2
    edges = np.linspace(0, w_nyq, n_bins + 1)
    idx = np.digitize(r.ravel(), edges) - 1
    keep = (idx >= 0) & (idx < n_bins)
    env = np.zeros(n_bins)
    np.maximum.at(env, idx[keep], mod.ravel()[keep])
    return 0.5 * (edges[1:] + edges[:-1]), env


def cube_shell_envelope(u: torch.Tensor, box: float):
    """Largest normalised Fourier modulus on the cube faces ``max(|w_x|, |w_y|, |w_z|) = w`` for each
    grid frequency ``w = 2 pi k / box``: the modulus at the Nyquist boundary of a grid of ``2k`` points.
    Returns ``(w, envelope)``."""
    mod, (wx, wy, wz), step = _spectrum(u, box)
    dw = 2 * math.pi / box
    k = np.rint(np.maximum(np.maximum(np.abs(wx), np.abs(wy)), np.abs(wz)) / dw).astype(int)
    n_k = u.shape[-1] // 2 + 1
    env = np.zeros(n_k)
    np.maximum.at(env, k.ravel(), mod.ravel())
    return np.arange(n_k) * dw, env


def nyquist_grid_size(w: np.ndarray, envelope: np.ndarray, box: float, threshold: float = 1e-6):
    """Smallest number of points ``N`` on a side ``box`` whose Nyquist boundary ``pi N / box`` sees a
    modulus below ``threshold`` everywhere beyond (``envelope`` from :func:`cube_shell_envelope` of a
    finer grid of the same density). Returns ``None`` when the envelope never falls below it."""
    below = envelope < threshold
    tail_ok = np.flip(np.logical_and.accumulate(np.flip(below)))
    if not tail_ok.any():
        return None
    w_star = w[np.argmax(tail_ok)]
    return int(math.ceil(w_star * box / math.pi))


def line_spectrum(u: torch.Tensor, box: float, axis: int = 0):
    """Normalised modulus of the 1-D Fourier transform of the line of ``u`` through the box centre
    along ``axis``: ``(w, |F|/F(0))``."""
    n = u.shape[-1]
    idx = [n // 2] * 3
    idx[axis] = slice(None)
    line = u[tuple(idx)].to(torch.float64)
    f = torch.fft.rfft(line).abs().cpu().numpy()
    return 2 * math.pi * np.fft.rfftfreq(n, d=box / n), f / f[0]


def fit_loglog_slope(w: np.ndarray, modulus: np.ndarray, w_min: float, w_max: float) -> float:
    """Least-squares slope of ``log(modulus)`` against ``log(w)`` for ``w_min <= w <= w_max`` (positive
    moduli only): ``-(l+1)`` for a 1-D kink ``|x|^l`` with odd ``l``, ``-(l+3)`` for ``|r|^l`` in 3-D."""
    m = (w >= w_min) & (w <= w_max) & (modulus > 0)
    if m.sum() < 3:
        raise ValueError(f"fewer than 3 points with positive modulus in [{w_min}, {w_max}]")
    return float(np.polyfit(np.log(w[m]), np.log(modulus[m]), 1)[0])


@dataclass
class TwoGaussianView:
    """What the chapter-01 widget draws: a slice of ``U_{l,0}[rho]`` through both atoms, and its radial
    Fourier envelope. ``extent`` in units of ``sigma``; ``w`` in radians per ``sigma``."""

    l: int
    distance: float
    slice: np.ndarray
    extent: tuple
    w: np.ndarray
    envelope: np.ndarray
    nyquist_modulus: float


def two_gaussian_view(l: int, distance: float, sigma_w: float = 1.0, grid: int = 64, box: float = 16.0,
                      device="cpu") -> TwoGaussianView:
    """Two unit Gaussians (``sigma = 1``) at ``(+-distance/2, 0, 0)``; ``U_{l,0}`` with wavelet width
    ``sigma_w`` on a ``grid^3`` grid of side ``box`` (all in units of ``sigma``). The widget callback."""
    centres = [[-distance / 2, 0, 0], [distance / 2, 0, 0]]
    u = gaussians_first_order(centres, l, 0.0, 1.0, sigma_w, grid, box, device=device)
    w, env = radial_envelope(u, box)
    _, face = cube_shell_envelope(u, box)
    sl = u[:, :, grid // 2].cpu().numpy().T
    h = box / 2
    return TwoGaussianView(l, distance, sl, (-h, h - box / grid, -h, h - box / grid), w, env, float(face[-1]))


def plot_two_gaussian_view(view: TwoGaussianView, axes) -> None:
    """Draw a :class:`TwoGaussianView` on two matplotlib axes (slice, spectrum)."""
    ax0, ax1 = axes
    ax0.clear()
    ax1.clear()
    ax0.imshow(view.slice, origin="lower", extent=view.extent, cmap="magma")
    ax0.set(title=f"U_(l={view.l}, j=0)[rho], z = 0 slice", xlabel="x / sigma", ylabel="y / sigma")
    ax1.loglog(view.w[1:], np.maximum(view.envelope[1:], 1e-18))
    ax1.set(title=f"Fourier envelope (Nyquist face {view.nyquist_modulus:.1e})", xlabel="|w| sigma",
            ylabel="|U_hat| / U_hat(0)", ylim=(1e-14, 2))


def invariance_errors(transformer, atoms, rng: np.random.Generator, n_trials: int = 3) -> dict:
    """Largest relative coefficient error ``max_k |S_k(T a) - S_k(a)| / max_k |S_k(a)|`` of a fitted
    :class:`SolidHarmonicScattering` under ``n_trials`` random sub-step translations and rotations of the
    periodic or boxed structure ``atoms``, and under a random permutation of its atoms."""
    ref = transformer.transform([atoms])[0]
    scale = np.abs(ref).max()
    moved, turned = [], []
    step = transformer.spacing_
    for _ in range(n_trials):
        a = atoms.copy()
        a.translate(rng.uniform(0, step, 3))
        moved.append(a)
        b = atoms.copy()
        axis = rng.normal(size=3)
        b.rotate(float(rng.uniform(0, 360)), axis, center="COM")
        turned.append(b)
    perm = atoms[rng.permutation(len(atoms))]
    out = transformer.transform(moved + turned + [perm])
    err = np.abs(out - ref).max(1) / scale
    return {"translation": float(err[:n_trials].max()), "rotation": float(err[n_trials:2 * n_trials].max()),
            "permutation": float(err[-1])}


def density_slice(atoms, sigma: float, spacing: float, margin: float = 2.0, channel: str = "Z"):
    """The density ``rho`` of eq. 2.1 on the plane through the centroid spanned by the two principal axes
    of the atomic positions (the molecule's plane for a planar molecule), like the thesis' figure 2.1.

    Computed in Fourier space on a cubic box (side: twice the largest atom distance from the centroid plus
    ``margin``, Å) with step ``<= spacing`` Å. Returns ``(slice (N, N) in electrons/Å^3, extent in Å)``."""
    p = atoms.get_positions()
    p = p - p.mean(0)
    _, _, vt = np.linalg.svd(p, full_matrices=True)
    p = p @ vt.T  # principal axes on x, y (z: the smallest spread)
    side = 2 * (np.linalg.norm(p, axis=1).max() + margin)
    n = smooth_size(side / spacing)
    side = n * spacing
    pos = torch.as_tensor(p + side / 2, dtype=torch.float64)[None]
    w = torch.as_tensor(atom_channels(atoms, (channel,)), dtype=torch.float64)[None]
    rho = backend.to_space(backend.density_hat(pos, w, (n,) * 3, (side,) * 3, sigma, dtype=torch.float64),
                           (n,) * 3)[0, 0]
    h = side / 2
    return rho[:, :, n // 2].numpy().T, (-h, h - spacing, -h, h - spacing)


def nyquist_face_modulus(w: np.ndarray, envelope: np.ndarray, side: float, n_points: int) -> float | None:
    """Modulus on the Nyquist faces of a grid of ``n_points`` on a box ``side`` (same length unit as the box
    that gave ``w``): ``envelope`` (from :func:`cube_shell_envelope`) at the first frequency ``>= pi n / side``;
    ``None`` beyond the reference grid's own Nyquist frequency."""
    w_nyq = math.pi * n_points / side
    k = int(np.searchsorted(w, w_nyq - 1e-12))
    return float(envelope[k]) if k < len(w) else None
