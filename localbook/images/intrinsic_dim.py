"""How many dimensions do image patches fill? (thesis section 5.3.3 and app. B.3)

Three measures of a cloud of patches in the extrinsic dimension ``d_ext = C * P * P``:

* the **spectrum** of ``Sigma^(1/2)``, the square roots of the covariance eigenvalues, sorted decreasingly
  (thesis fig. 5.4), :func:`covariance_spectrum`;
* the **covariance dimension** ``d_cov``: the fewest principal directions that explain 95 % of the
  variance (thesis fig. 5.5, left), :func:`covariance_dimension`. "Variance" is the sum of the covariance
  eigenvalues, as in the original analysis code; the thesis' text writes the criterion with the singular
  values of ``Sigma^(1/2)``, which would give a larger ``d_cov``;
* the **intrinsic dimension** ``d_int`` of Levina and Bickel (2004), the average over patches ``p`` of the
  local maximum-likelihood estimate (thesis eq. 5.5)
  ``d_int(p) = ((1 / (K - 1)) sum_{k=1}^{K-1} log(tau_K(p) / tau_k(p)))^(-1)``,
  ``tau_k(p)`` the distance from ``p`` to its k-th nearest neighbour (thesis fig. 5.5, right),
  :func:`levina_bickel` and :func:`intrinsic_dimension`.

Each is computed on raw patches and on whitened ones (:class:`localbook.images.whitening.PatchWhitening`).
Distances are exact (batched ``torch.cdist`` + top-k on ``device``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from localbook.images.whitening import PatchWhitening, sample_patches

__all__ = ["covariance_spectrum", "covariance_dimension", "nearest_neighbor_distances", "levina_bickel",
           "intrinsic_dimension", "sample_unique_patches", "patch_dimensions", "dimensions_of_sources",
           "dimension_rows"]


def covariance_spectrum(points: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the covariance of ``points`` (n, D), decreasing, float64 (clipped at 0).

    Their square roots are the spectrum of ``Sigma^(1/2)`` plotted in thesis fig. 5.4.
    """
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"points must be (n >= 2, D), got {tuple(points.shape)}")
    x = points.double()
    x = x - x.mean(0)
    return torch.linalg.eigvalsh(x.T @ x / len(x)).flip(0).clamp_min(0.0)


def covariance_dimension(eigenvalues: torch.Tensor | np.ndarray, fraction: float = 0.95) -> int:
    """Smallest ``d`` such that the ``d`` largest eigenvalues hold ``fraction`` of their sum (``d_cov``)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ev = torch.as_tensor(eigenvalues, dtype=torch.float64).flatten().sort(descending=True).values
    if ev.numel() == 0 or ev.sum() <= 0:
        raise ValueError("eigenvalues must be non-empty with a positive sum")
    cum = ev.cumsum(0) / ev.sum()
    return int(torch.searchsorted(cum, torch.tensor([fraction * (1 - 1e-12)], dtype=torch.float64)).item()) + 1


@torch.no_grad()
def nearest_neighbor_distances(queries: torch.Tensor, n_neighbors: int, reference: torch.Tensor | None = None,
                               batch_size: int = 1024, device=None) -> torch.Tensor:
    """Sorted distances (n, K) from each query to its ``n_neighbors`` nearest points of ``reference``.

    With ``reference=None`` the queries are their own reference and each point's zero distance to itself
    is left out (leave-one-out). Batched over queries: memory ``batch_size * len(reference)``. Computed in
    float64 on ``device`` (default: the queries' device) and returned there.
    """
    dev = torch.device(device) if device is not None else queries.device
    q_all = queries.reshape(len(queries), -1).to(dev, torch.float64)
    ref = q_all if reference is None else reference.reshape(len(reference), -1).to(dev, torch.float64)
    if ref.shape[1] != q_all.shape[1]:
        raise ValueError(f"queries have dimension {q_all.shape[1]}, reference {ref.shape[1]}")
    available = len(ref) - (1 if reference is None else 0)
    if not 1 <= n_neighbors <= available:
        raise ValueError(f"n_neighbors must be in [1, {available}] (the reference points available), got {n_neighbors}")
    out = []
    for start in range(0, len(q_all), batch_size):
        d = torch.cdist(q_all[start:start + batch_size], ref)
        if reference is None:
            rows = torch.arange(len(d), device=dev)
            d[rows, rows + start] = float("inf")
        out.append(d.topk(n_neighbors, dim=1, largest=False).values)
    return torch.cat(out)


def levina_bickel(distances: torch.Tensor, n_neighbors: int | None = None) -> torch.Tensor:
    """Local Levina-Bickel estimates (n,) from sorted neighbour distances (n, >= K) (thesis eq. 5.5).

    ``d(p) = ((1/(K-1)) sum_{k<K} log(tau_K / tau_k))^(-1)`` with ``K = n_neighbors`` (default: all
    columns). A zero distance (a duplicate point) makes the estimate meaningless: it is refused.
    """
    k = distances.shape[1] if n_neighbors is None else n_neighbors
    if not 2 <= k <= distances.shape[1]:
        raise ValueError(f"n_neighbors (K) must be in [2, {distances.shape[1]}], got {k}")
    tau = distances[:, :k].double()
    if bool((tau[:, 0] <= 0).any()):
        raise ValueError("some points have a neighbour at distance 0 (duplicates): remove duplicates first, "
                         "e.g. with sample_unique_patches or torch.unique(points, dim=0)")
    mean_log = (tau[:, -1:].log() - tau[:, :-1].log()).mean(1)
    return 1.0 / mean_log


def intrinsic_dimension(points: torch.Tensor, n_neighbors: int, reference: torch.Tensor | None = None,
                        batch_size: int = 1024, device=None) -> float:
    """``d_int``: the average of the local Levina-Bickel estimates over ``points`` (n, D) (thesis B.3)."""
    dist = nearest_neighbor_distances(points, n_neighbors, reference, batch_size, device)
    return float(levina_bickel(dist).mean())


def sample_unique_patches(images: torch.Tensor | Sequence[torch.Tensor], n_patches: int, patch_size: int,
                          rng: np.random.Generator | int | None = 0, device=None) -> torch.Tensor:
    """About ``n_patches`` *distinct* patches (n, C, P, P), drawn uniformly from ``images``.

    ``images`` is a tensor (N, C, H, W) or a list of images (C, H_i, W_i) of different sizes (photographs),
    which then contribute equal shares. Duplicates are dropped (uniform backgrounds, such as Fashion-MNIST's
    black one, repeat the same patch many times, and a zero neighbour distance breaks eq. 5.5), so slightly
    fewer than ``n_patches`` may come back.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if isinstance(images, torch.Tensor):
        patches = sample_patches(images, n_patches, patch_size, gen, device)
    else:
        images = list(images)
        if not images:
            raise ValueError("images is an empty list")
        shares = [n_patches // len(images) + (i < n_patches % len(images)) for i in range(len(images))]
        patches = torch.cat([sample_patches(img[None], s, patch_size, gen, device)
                             for img, s in zip(images, shares) if s > 0])
    flat = torch.unique(patches.reshape(len(patches), -1), dim=0)
    keep = torch.as_tensor(gen.permutation(len(flat)), device=flat.device)   # undo unique's sorting
    return flat[keep].reshape(-1, *patches.shape[1:])


def patch_dimensions(images: torch.Tensor | Sequence[torch.Tensor], patch_sizes: Sequence[int], n_patches: int,
                     n_neighbors: int, reg: float = 1e-3, n_whitening: int = 50_000, fraction: float = 0.95,
                     rng: np.random.Generator | int | None = 0, device=None) -> list[dict]:
    """For each patch size ``P``: ``d_ext``, the covariance spectra, ``d_cov`` and ``d_int`` of raw and of
    whitened patches (thesis figs. 5.4 and 5.5).

    The whitening (``W = (Sigma + reg I)^(-1/2)``, ZCA) and the spectra are estimated from ``n_whitening``
    patches; ``d_int`` averages the local estimates of ``n_patches`` distinct patches, each against the
    others (leave-one-out), with ``K = n_neighbors`` (the thesis: 16,000 patches, K = 4,000). Returns one
    dict per ``P`` with keys ``patch_size``, ``d_ext``, ``n_patches``, ``eigenvalues`` and
    ``whitened_eigenvalues`` (numpy, decreasing), ``d_cov``, ``d_cov_whitened``, ``d_int``, ``d_int_whitened``.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    rows = []
    for p in patch_sizes:  # a handful of patch sizes
        stats = sample_unique_patches(images, n_whitening, p, gen, device)
        whitening = PatchWhitening(reg, "zca").fit(stats)
        pts = sample_unique_patches(images, n_patches, p, gen, device)
        raw = pts.reshape(len(pts), -1)
        white = whitening.transform(raw.double())
        ev, wev = whitening.eigenvalues_, whitening.whitened_spectrum()
        rows.append({
            "patch_size": p, "d_ext": raw.shape[1], "n_patches": len(raw),
            "eigenvalues": ev.cpu().numpy(), "whitened_eigenvalues": wev.cpu().numpy(),
            "d_cov": covariance_dimension(ev, fraction), "d_cov_whitened": covariance_dimension(wev, fraction),
            "d_int": intrinsic_dimension(raw, n_neighbors, device=device),
            "d_int_whitened": intrinsic_dimension(white, n_neighbors, device=device),
        })
    return rows


def dimensions_of_sources(sources, patch_sizes: Sequence[int], n_patches: int, n_neighbors: int, reg: float = 1e-3,
                          n_whitening: int = 20_000, rng: np.random.Generator | int | None = 0,
                          device=None) -> dict[str, list[dict]]:
    """:func:`patch_dimensions` for each ``{name: images}`` of ``sources``, drawing from one generator in turn."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return {name: patch_dimensions(images, patch_sizes, n_patches, n_neighbors, reg=reg, n_whitening=n_whitening,
                                   rng=gen, device=device) for name, images in sources.items()}


def dimension_rows(dimensions) -> tuple[list[tuple], tuple[str, ...]]:
    """``(rows, header)`` of the dimension table (for ``localbook.plotting.text_table``): for each image source of
    ``dimensions`` (the output of :func:`dimensions_of_sources`) and patch size, ``d_ext``, the number of patches,
    ``d_cov`` and ``d_int`` raw and whitened, and ``d_int`` whitened as a percentage of ``d_ext`` (the thesis:
    about 10 %)."""
    table = [(name, r["patch_size"], r["d_ext"], r["n_patches"], r["d_cov"], r["d_cov_whitened"], f"{r['d_int']:.3g}",
              f"{r['d_int_whitened']:.3g}", f"{100 * r['d_int_whitened'] / r['d_ext']:.3g}")
             for name, rows in dimensions.items() for r in rows]
    return table, ("images", "P", "d_ext", "patches", "d_cov", "d_cov white", "d_int", "d_int white",
                   "d_int white / d_ext %")
