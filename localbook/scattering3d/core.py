"""The scattering loop (thesis section 2.1.5): one pure function of a spectrum and a filter bank.

``S[x] = ( int x^q, int U_{l,j}[x]^q, int U_{l2,j2}[U_{l1,j1}[x]]^q )`` with ``j2 > j1`` and
``U_{l,j}[x] = (sum_m |x * psi_{l,m,j}|^2)^{1/2}``. No argument parsing and no state: the front ends
(:class:`.grid.GridScattering`, :class:`.frontend.SolidHarmonicScattering`) validate, build the bank
(:mod:`.filters`) and call :func:`scattering`; the tensor work is in :mod:`.backend`.
"""
from __future__ import annotations

import math

import torch

from localbook.scattering3d import analytic as _analytic
from localbook.scattering3d import backend
from localbook.scattering3d import filters as _filters
from localbook.scattering3d import sampling as _sampling
from localbook.scattering3d.filters import FilterBank
from localbook.scattering3d.labels import second_order_pairs

__all__ = ["scattering"]


def scattering(x_hat: torch.Tensor, bank: FilterBank, qs, max_order: int = 2, second_order: str = "same_l",
               x: torch.Tensor | None = None) -> torch.Tensor:
    """Scattering coefficients ``(..., F)`` of densities given by their real-FFT coefficients ``x_hat``
    ``(..., Nx, Ny, Nh)`` on the grid ``bank.shape`` of box ``bank.lengths``, in the order of
    :func:`.labels.coefficient_labels` (one channel): order 0 when ``x`` (the densities in space) is given, then
    orders 1 and 2 up to ``max_order``.

    For each scale ``j1`` all degrees are convolved at once, two real wavelets per complex inverse FFT
    (:class:`.filters.PairedFilters`), on the band of that scale only. Integrals are ``dV * sum`` over the grid each
    ``U`` lives on (the input grid, or the coarser grid of its scale in the multi-resolution mode), so that they
    approximate the continuous ``int U^q d^3r``. With ``qs == (2,)``, every coefficient that no further order
    needs comes from Parseval's identity, with no inverse FFT.
    """
    qs = tuple(float(q) for q in qs)
    shape = bank.shape
    volume = math.prod(bank.lengths)
    parseval = qs == (2.0,)
    parts = []
    if x is not None:
        parts.append(backend.integrals(x, x.square(), qs, volume / math.prod(shape)))
    if max_order < 1:
        return torch.cat(parts, -1)
    order1, order2 = {}, {}
    j_max = max(bank.js)
    for j1 in bank.js:
        band1, filters = bank.bands[j1], bank.all_degrees[j1]
        deeper = max_order >= 2 and j1 < j_max
        if parseval and not deeper:
            energy = backend.parseval_integrals(backend.spectrum_band(x_hat, band1, shape), filters, shape,
                                                volume / math.prod(shape))
            order1.update({(l, j1): energy[..., i, None] for i, l in enumerate(filters.ls)})
            continue
        u2 = backend.paired_moduli(backend.band_inverse(backend.filtered_band(x_hat, band1, shape, filters), band1,
                                                        shape), filters)
        u_hat = {}
        for l1 in bank.ls:
            u, order1[(l1, j1)] = backend.moduli_integrals(u2.pop(l1), qs, volume / math.prod(band1.shape), deeper)
            if deeper:
                u_hat[l1] = backend.to_fourier(u)
        if deeper:
            order2.update(_second_order(u_hat, band1.shape, j1, bank, qs, second_order, parseval))
    parts += [order1[(l, j)] for l in bank.ls for j in bank.js]
    if max_order >= 2:
        parts += [order2[p] for p in second_order_pairs(bank.js, bank.ls, second_order)]
    return torch.cat(parts, -1)


def _second_order(u_hat: dict, grid1, j1, bank, qs, second_order, parseval) -> dict:
    """``int U_{l2,j2}[U_{l1,j1}]^q`` for every ``j2 > j1`` from the real-FFT spectra ``u_hat[l1]`` of the
    ``U_{l1,j1}`` on their grid ``grid1``.

    ``"same_l"``: the wavelets of degree ``l`` filter ``U_{l,j1}``; pairs that join two degrees filter two inputs,
    ``U_a * psi_a + i U_b * psi_b`` in one transform (:attr:`.filters.PairedFilters.halves`), so that every complex
    transform gives two real convolutions. ``"all_l"``: every degree filters every input, as the first order does.
    """
    out = {}
    volume = math.prod(bank.lengths)
    dv1 = volume / math.prod(grid1)
    for j2 in bank.js:
        if j2 <= j1:
            continue
        band2, filters = bank.bands[j2], bank.all_degrees[j2]
        dv2 = volume / math.prod(band2.shape)
        u_band = {l1: backend.spectrum_band(u, band2, grid1) for l1, u in u_hat.items()}
        if second_order == "all_l":
            for l1, ub in u_band.items():
                if parseval:
                    energy = backend.parseval_integrals(ub, filters, grid1, dv1)
                    out.update({(l1, j1, l2, j2): energy[..., i, None] for i, l2 in enumerate(filters.ls)})
                    continue
                v2 = backend.paired_moduli(backend.band_inverse(ub.unsqueeze(-4) * filters.filters, band2, grid1),
                                           filters)
                out.update({(l1, j1, l2, j2): backend.moduli_integrals(v2[l2], qs, dv2)[1] for l2 in filters.ls})
            continue
        if parseval:
            for i, l in enumerate(filters.ls):
                energy = backend.parseval_integrals(u_band[l], filters, grid1, dv1)[..., i, None]
                out[(l, j1, l, j2)] = energy
            continue
        products = []
        for p, (la, lb) in enumerate(filters.degrees):
            if lb is None or lb == la:
                products.append(u_band[la] * filters.filters[p])
            else:
                products.append(u_band[la] * filters.halves[p, 0] + u_band[lb] * filters.halves[p, 1])
        v2 = backend.paired_moduli(backend.band_inverse(torch.stack(products, -4), band2, grid1), filters)
        out.update({(l, j1, l, j2): backend.moduli_integrals(v2[l], qs, dv2)[1] for l in filters.ls})
    return out


# Names that lived in this module before the filter bank, the sampling conditions and the closed forms moved to
# modules of their own (issue 14). Chapter 01 still reads them as ``core.<name>``; they resolve to their new home.
_MOVED = {
    **{n: _filters for n in ("K_l", "K_l_thesis", "real_solid_harmonics", "wavelet_hat", "frequency_grid",
                            "scale_width")},
    **{n: _sampling for n in ("gaussian_width_for_aliasing", "aliasing_precision", "min_distance_for_overlap",
                             "overlap_precision", "smooth_size", "grid_shape_for_lengths")},
    **{n: _analytic for n in ("analytic_first_order", "analytic_first_order_integral", "analytic_order0_integral")},
}


def __getattr__(name):
    if name in _MOVED:
        return getattr(_MOVED[name], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
