"""Cross-checks against kymatio's ``HarmonicScattering3D`` (the test oracle and benchmark baseline)."""
from __future__ import annotations

import torch

__all__ = ["kymatio_layout"]


def kymatio_layout(kymatio_output: torch.Tensor, labels) -> torch.Tensor:
    """Reorder kymatio's output ``(B, n_j_or_pair, L+1, P)`` into our feature order ``(B, F)``.

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
