"""What each scattering coefficient is: labels, their order in the output, and kymatio's layout mapped onto them.

Output order, per channel: order 0 (``q``), order 1 (``l``, ``j``, ``q``), order 2 (``l1``, ``j1``, ``j2``,
``l2``, ``q``) with ``j2 > j1``; channels one after the other.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["CoefficientLabel", "second_order_pairs", "coefficient_labels", "coefficient_scales", "kymatio_layout"]


class CoefficientLabel(NamedTuple):
    """What one scattering coefficient is: ``int (U ...)^q`` of a given order, channel and indices.

    ``order`` 0: ``int rho_c^q``; 1: ``int U_{l1,j1}[rho_c]^q``; 2: ``int U_{l2,j2}[U_{l1,j1}[rho_c]]^q``.
    Unused indices are ``None``.
    """

    order: int
    channel: str
    q: float
    l1: int | None = None
    j1: float | None = None
    l2: int | None = None
    j2: float | None = None

    @property
    def name(self) -> str:
        """A column name such as ``order1_Z_l2_j1.5_q0.5``."""
        def num(v):
            return f"{v:g}"
        parts = [f"order{self.order}", self.channel]
        if self.order >= 1:
            parts += [f"l{self.l1}", f"j{num(self.j1)}"]
        if self.order == 2:
            parts += [f"l{self.l2}", f"j{num(self.j2)}"]
        parts.append(f"q{num(self.q)}")
        return "_".join(parts)

    @property
    def max_scale(self) -> float:
        """Largest wavelet scale ``j`` involved (``-inf`` for order 0): for "error versus length" studies."""
        js = [j for j in (self.j1, self.j2) if j is not None]
        return max(js) if js else -math.inf


def second_order_pairs(js, ls, second_order: str = "same_l") -> list[tuple]:
    """Second-order index tuples ``(l1, j1, l2, j2)``, ``j2 > j1``, in output order; ``second_order``:
    ``"same_l"`` (``l2 = l1``) or ``"all_l"`` (every ``l2`` of ``ls``)."""
    return [(l1, j1, l2, j2) for l1 in ls for j1 in js for j2 in js if j2 > j1
            for l2 in (ls if second_order == "all_l" else (l1,))]


def coefficient_labels(js, ls, qs, channels, max_order: int = 2, second_order: str = "same_l",
                       include_order0: bool = True) -> list[CoefficientLabel]:
    """One :class:`CoefficientLabel` per output column, in output order."""
    labels = []
    for c in channels:
        if include_order0:
            labels += [CoefficientLabel(0, c, q) for q in qs]
        if max_order >= 1:
            labels += [CoefficientLabel(1, c, q, l, j) for l in ls for j in js for q in qs]
        if max_order >= 2:
            labels += [CoefficientLabel(2, c, q, l1, j1, l2, j2)
                       for (l1, j1, l2, j2) in second_order_pairs(js, ls, second_order) for q in qs]
    return labels


def coefficient_scales(labels, sigma_w: float) -> np.ndarray:
    """Largest wavelet width ``2^j sigma_w`` (Å) of each scattering coefficient label (``nan`` for order 0)."""
    return np.array([np.nan if lab.order == 0 else 2.0 ** lab.max_scale * sigma_w for lab in labels])


def kymatio_layout(kymatio_output: torch.Tensor, labels) -> torch.Tensor:
    """Reorder kymatio's ``HarmonicScattering3D`` output ``(B, n_j_or_pair, L+1, P)`` into our order ``(B, F)``:
    the cross-check of the tests and the benchmark.

    kymatio indexes first-order coefficients by ``j`` (``0..J``) then second-order ones by the pairs
    ``(j1, j2)``, ``j1 < j2``, in lexicographic order, with ``l2 = l1``; integer scales only and no order 0.
    ``labels``: the :attr:`GridScattering.labels` of one channel, with integer ``j`` and ``q`` among kymatio's
    ``integral_powers`` in the same order as our ``qs``.
    """
    js = sorted({int(lab.j1) for lab in labels if lab.order >= 1})
    qs = list(dict.fromkeys(lab.q for lab in labels))
    pairs = [(j1, j2) for j1 in js for j2 in js if j2 > j1]
    cols = []
    for lab in labels:
        if lab.order == 0 or (lab.order == 2 and lab.l2 != lab.l1):
            raise ValueError(f"{lab.name} has no kymatio counterpart (order 0 or l2 != l1)")
        i = int(lab.j1) if lab.order == 1 else len(js) + pairs.index((int(lab.j1), int(lab.j2)))
        cols.append(kymatio_output[:, i, lab.l1, qs.index(lab.q)])
    return torch.stack(cols, -1)
