"""Earth mover's distances between two clouds of feature vectors (thesis ch. 6.2.3).

With uniform weights ``1/n`` on the ``n`` rows and ``1/m`` on the ``m`` columns of a cost matrix ``C``
(n, m), the exact EMD is the linear programme

    EMD = min_{T >= 0, sum_j T_ij = 1/n, sum_i T_ij = 1/m} sum_ij T_ij C_ij.

* :func:`relaxed_emd` (REMD, STROTSS, Kolkin et al. 2019): drop one set of marginal constraints at a time;
  each relaxation is solved by sending every point to its nearest neighbour, so REMD is the larger of the
  mean row minimum and the mean column minimum of ``C``. Both are lower bounds: ``REMD <= EMD``.
* :func:`sinkhorn` (SEMD, Cuturi 2013, log-domain as in Schmitzer 2019): the entropic problem
  ``min_T <T, C> - eps h(T)`` with ``h(T) = -sum T log T``, solved by ``n_iter`` alternating projections
  on the two marginals. After a finite number of iterations the plan satisfies only the last-projected
  marginal; :func:`round_to_marginals` (Altschuler, Weed and Rigollet 2017, Algorithm 2) makes it
  feasible, and the transport cost of a feasible plan is an upper bound: ``EMD <= <T_round, C>``.
* :func:`exact_emd` solves the linear programme with POT's network simplex (``ot.emd2``).

Everything is torch (any device, differentiable) except :func:`exact_emd`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["bounds_on_random_clouds", "cosine_cost", "euclidean_cost", "relaxed_emd", "SinkhornResult", "sinkhorn",
           "round_to_marginals", "exact_emd"]


def _check_cost(cost: torch.Tensor) -> None:
    if cost.ndim != 2 or min(cost.shape) < 1:
        raise ValueError(f"the cost must be a non-empty matrix (n, m), got shape {tuple(cost.shape)}")


def cosine_cost(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Cosine distance ``1 - <x_i, y_j> / (|x_i| |y_j|)`` between rows of ``x`` (n, d) and ``y`` (m, d); in [0, 2]."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two clouds (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    xn = x / x.norm(dim=1, keepdim=True).clamp_min(eps)
    yn = y / y.norm(dim=1, keepdim=True).clamp_min(eps)
    return 1.0 - xn @ yn.T


def euclidean_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Euclidean distance ``|x_i - y_j|`` between rows of ``x`` (n, d) and ``y`` (m, d)."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two clouds (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    return torch.cdist(x, y)


def relaxed_emd(cost: torch.Tensor) -> torch.Tensor:
    """REMD of a cost matrix (n, m): ``max(mean_i min_j C_ij, mean_j min_i C_ij)`` (thesis ch. 6.2.3)."""
    _check_cost(cost)
    return torch.maximum(cost.min(dim=1).values.mean(), cost.min(dim=0).values.mean())


@dataclass
class SinkhornResult:
    """Output of :func:`sinkhorn`.

    ``plan`` (n, m): the entropic plan after ``n_iter`` iterations (its column sums are exactly ``1/m``,
    its row sums only approximately ``1/n``); ``cost``: its transport cost ``<T, C>``; ``objective``: the
    entropic objective ``<T, C> - eps h(T)`` of the thesis' SEMD; ``marginal_error``: the L1 error of the
    row sums; ``rounded_cost``: the transport cost of the plan rounded onto the feasible set, an upper
    bound of the exact EMD.
    """

    plan: torch.Tensor
    cost: torch.Tensor
    objective: torch.Tensor
    marginal_error: float
    rounded_cost: torch.Tensor


def sinkhorn(cost: torch.Tensor, eps: float = 1e-3, n_iter: int = 50, grad_through_plan: bool = False
             ) -> SinkhornResult:
    """Log-domain Sinkhorn iterations for uniform marginals (thesis SEMD, eq. in ch. 6.2.3).

    ``cost`` (n, m); ``eps`` the entropic regularisation (same unit as the cost; the thesis uses 1e-3 on a
    cosine cost); ``n_iter`` the number of (row, column) update pairs (thesis: N = 50). The dual potentials
    are updated with ``logsumexp``, so small ``eps`` does not underflow (Schmitzer 2019).

    Gradients: by default the plan is computed without autograd and the returned ``cost`` is
    ``<T.detach(), C>``, whose gradient in ``C`` is the plan itself (the envelope theorem for the converged
    problem); ``grad_through_plan=True`` differentiates through all iterations instead (memory ``n_iter``
    times an (n, m) matrix).
    """
    _check_cost(cost)
    if eps <= 0 or n_iter < 1:
        raise ValueError(f"need eps > 0 and n_iter >= 1, got eps={eps}, n_iter={n_iter}")
    n, m = cost.shape
    log_a = torch.full((n,), -np.log(n), dtype=cost.dtype, device=cost.device)
    log_b = torch.full((m,), -np.log(m), dtype=cost.dtype, device=cost.device)
    with torch.set_grad_enabled(grad_through_plan and torch.is_grad_enabled()):
        c = cost if grad_through_plan else cost.detach()
        f = torch.zeros(n, dtype=cost.dtype, device=cost.device)
        g = torch.zeros(m, dtype=cost.dtype, device=cost.device)
        for _ in range(n_iter):
            f = eps * (log_a - torch.logsumexp((g[None, :] - c) / eps, dim=1))
            g = eps * (log_b - torch.logsumexp((f[:, None] - c) / eps, dim=0))
        log_plan = (f[:, None] + g[None, :] - c) / eps
        plan = log_plan.exp()
    transport = (plan * cost).sum()
    entropy = -(plan * log_plan).sum()
    row_error = float((plan.sum(1).detach() - log_a.exp()).abs().sum())
    rounded = round_to_marginals(plan.detach(), log_a.exp(), log_b.exp())
    return SinkhornResult(plan=plan, cost=transport, objective=transport - eps * entropy,
                          marginal_error=row_error, rounded_cost=(rounded * cost.detach()).sum())


def round_to_marginals(plan: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Project a non-negative plan (n, m) onto the transport polytope with marginals ``a`` (n,), ``b`` (m,).

    Altschuler, Weed and Rigollet (2017), Algorithm 2: scale down rows that carry too much mass, then
    columns, then add the missing mass as a rank-one correction. The result is exactly feasible (up to
    floating point), so its transport cost bounds the exact EMD from above.
    """
    if plan.ndim != 2 or plan.shape != (a.numel(), b.numel()):
        raise ValueError(f"plan {tuple(plan.shape)} does not match marginals ({a.numel()}, {b.numel()})")
    x = (a / plan.sum(1).clamp_min(1e-300)).clamp(max=1.0)
    p = plan * x[:, None]
    y = (b / p.sum(0).clamp_min(1e-300)).clamp(max=1.0)
    p = p * y[None, :]
    err_a, err_b = (a - p.sum(1)).clamp_min(0), (b - p.sum(0)).clamp_min(0)  # >= 0 up to rounding
    total = err_a.sum()
    if total > 0:
        p = p + err_a[:, None] * err_b[None, :] / total
    return p


def exact_emd(cost, a=None, b=None, max_iter: int = 1_000_000) -> float:
    """Exact EMD of a cost matrix ``(n, m)``, uniform weights by default: POT's network simplex (``ot.emd2``,
    Bonneel et al. 2011), about 60x faster than the same linear programme through SciPy's HiGHS at 100 x 100
    (``benchmarks/bench_art.py``).

    ``a``, ``b``: weights of the rows and columns (each summing to 1). Raises when the simplex stops before the
    optimum (raise ``max_iter``) or the weights do not match the cost matrix.
    """
    import ot as pot

    c = cost.detach().cpu().double().numpy() if isinstance(cost, torch.Tensor) else np.asarray(cost, float)
    if c.ndim != 2:
        raise ValueError(f"the cost must be a matrix (n, m), got shape {c.shape}")
    n, m = c.shape
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, float)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, float)
    if a.shape != (n,) or b.shape != (m,) or abs(a.sum() - b.sum()) > 1e-9 * max(a.sum(), 1.0):
        raise ValueError(f"weights of shapes {a.shape} and {b.shape} (sums {a.sum():.6g}, {b.sum():.6g}) do not fit "
                         f"a ({n}, {m}) cost: pass one weight per row and per column, with equal sums")
    with warnings.catch_warnings():  # POT warns when it stops early; the error below says what to do instead
        warnings.filterwarnings("ignore", message="numItermax reached", category=UserWarning)
        value, log = pot.emd2(a, b, np.ascontiguousarray(c), numItermax=max_iter, log=True)
    if log["result_code"] != 1:
        raise RuntimeError(f"the network simplex stopped before the optimum ({log['warning']}); raise max_iter")
    return float(value)


def bounds_on_random_clouds(n_clouds: int = 3, n_x: int = 40, n_y: int = 50, dim: int = 8, eps: float = 1e-3,
                            n_iter: int = 50, seed: int = 0) -> list[dict[str, float]]:
    """The transport bounds of thesis fig. 6.10 on ``n_clouds`` pairs of Gaussian clouds (``n_x`` and ``n_y``
    points in ``dim`` dimensions, seeded), under the cosine cost.

    Per pair: ``remd`` (relaxed EMD, a lower bound), ``emd`` (exact, :func:`exact_emd`), ``sinkhorn`` (raw cost
    of the Sinkhorn plan after ``n_iter`` iterations at ``eps``: not a bound, one marginal is off),
    ``rounded`` (that plan rounded onto the feasible set: an upper bound), ``marginal_error`` and
    ``converged`` (the cost of a converged plan, ``eps = 0.02`` and 2,000 iterations).
    """
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n_clouds):
        x = torch.randn(n_x, dim, generator=g, dtype=torch.float64)
        y = torch.randn(n_y, dim, generator=g, dtype=torch.float64)
        cost = cosine_cost(x, y)
        res, conv = sinkhorn(cost, eps=eps, n_iter=n_iter), sinkhorn(cost, eps=0.02, n_iter=2000)
        rows.append({"remd": float(relaxed_emd(cost)), "emd": exact_emd(cost), "sinkhorn": float(res.cost),
                     "rounded": float(res.rounded_cost), "marginal_error": float(res.marginal_error),
                     "converged": float(conv.cost)})
    return rows
