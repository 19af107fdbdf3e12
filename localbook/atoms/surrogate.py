"""A linear surrogate of the formation entropy on summed atomic descriptors (thesis section 3.4).

``S_f ~ <w, Phi> + b`` with ``Phi = sum_i phi(N_i)``: scikit-learn's Bayesian ridge (the thesis' choice) or
ridge with a cross-validated penalty, after standardising the features. The descriptor is any
scikit-learn transformer mapping a list of ``ase.Atoms`` to ``(M, d)`` arrays. Two are registered here: the
AFS descriptor (``"afs"``, :class:`localbook.atoms.afs.AFSDescriptor`, thesis section 3.4.2) and the
solid-harmonic scattering of chapter 01 (``"scattering"``, thesis section 3.4.3); others plug in with
:func:`register_descriptor` and need nothing else. A descriptor with a ``per_atom(atoms)`` method also gives
local contributions (thesis eq. 3.4).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.pipeline import Pipeline

from localbook import regression

__all__ = ["DESCRIPTORS", "SCATTERING_J", "register_descriptor", "make_descriptor", "descriptor_matrix",
           "scales_within", "linear_model", "errors", "cv_predict", "split_curve", "effective_weights",
           "local_contributions", "parity_plot", "bulk_descriptor", "formation_descriptor", "count_table"]

DESCRIPTORS: dict[str, Callable] = {}


def register_descriptor(name: str, factory: Callable) -> None:
    """Make ``make_descriptor(name, **kw)`` call ``factory(**kw)`` (an sklearn transformer of structures)."""
    DESCRIPTORS[name] = factory


def _afs(**kw):
    from localbook.atoms.afs import AFSDescriptor
    return AFSDescriptor(**kw)


register_descriptor("afs", _afs)

#: Scales of the scattering descriptor of thesis section 3.4.3 (fig. 3.1).
SCATTERING_J = (0.0, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 4.0, 5.0)


def _scattering(J=SCATTERING_J, L=9, qs=(2.0,), sigma=0.5, sigma_w=None, max_order=1, include_order0=False,
                channels=("ones",), dtype="float64", **kw):
    """The thesis' ``S^{J,L}`` for iron: orders 0-1 of :class:`localbook.scattering3d.SolidHarmonicScattering`
    on the periodic cell (``grid="cell"``), ``q = 2``, ``l = 0..L``, one channel (all atoms are iron).

    Defaults give ``len(J) * (L + 1) = 90`` first-order coefficients, the thesis' count. ``sigma`` (Å) is the
    width of the atomic Gaussians and of the smallest wavelet (the thesis does not give it); the largest
    wavelet is ``2^5 sigma_w`` wide. With ``q = 2`` a first-order coefficient is, by Parseval,
    ``sum_k |rho_hat(k)|^2 sum_m |psi_hat_{j,l,m}(k)|^2``, and ``sum_m |Y_l^m|^2`` is constant: it depends on
    the pair distances only, a pair-distribution descriptor at scale ``2^j sigma_w``.
    """
    from localbook.scattering3d import SolidHarmonicScattering
    return SolidHarmonicScattering(J=list(J), L=L, qs=tuple(qs), sigma=sigma, sigma_w=sigma_w, grid="cell",
                                   max_order=max_order, include_order0=include_order0, channels=tuple(channels),
                                   dtype=dtype, **kw)


register_descriptor("scattering", _scattering)


def make_descriptor(name: str, **kw):
    """A registered descriptor transformer (``"afs"``, ``"scattering"``; others once registered)."""
    if name not in DESCRIPTORS:
        raise ValueError(f"descriptor {name!r} is not registered: available {sorted(DESCRIPTORS)}; "
                         "add one with localbook.atoms.surrogate.register_descriptor(name, factory)")
    return DESCRIPTORS[name](**kw)


def descriptor_matrix(structures, name: str = "afs", cache=None, key_inputs=None, **kw) -> np.ndarray:
    """``(M, d)`` summed descriptors of ``structures``, cached on disk when ``cache`` (an ArrayCache) is given.

    ``key_inputs``: what identifies the structures in the cache key (e.g. the database checksum).
    """
    desc = make_descriptor(name, **kw)
    if cache is None:
        return desc.fit_transform(structures)
    params = {k: (str(v) if k in ("device", "progress") else v) for k, v in kw.items()}
    params = {k: v for k, v in params.items() if k not in ("device", "progress")}
    out = cache.get_or_compute(f"descriptor-{name}", lambda: {"x": desc.fit_transform(structures)},
                               inputs=key_inputs, params=params)
    return out["x"]


def scales_within(labels, sigma_w: float, cell_length: float) -> np.ndarray:
    """Boolean mask of the scattering coefficients whose widest wavelet, ``2^j sigma_w`` (Å), is at most half
    of ``cell_length`` (Å), the smallest cell a model is trained on.

    A wider wavelet is sampled on the cell's reciprocal lattice, ``2 pi / L`` apart, far in its Gaussian tail:
    its coefficients shrink by orders of magnitude from one cell size to the next (1e-33 in 128-atom iron
    cells, 1e-23 in 250-atom ones for ``j = 5``, ``sigma_w = 0.5`` Å), and a standardised linear model
    trained on one size then explodes on the other. ``labels``: ``feature_labels_`` of the fitted transformer.
    """
    from localbook.scattering3d import coefficient_scales
    if sigma_w <= 0 or cell_length <= 0:
        raise ValueError(f"sigma_w={sigma_w} and cell_length={cell_length} must be positive lengths in Å")
    return ~(coefficient_scales(labels, sigma_w) > cell_length / 2)   # order 0 (nan): no wavelet, kept


def linear_model(kind: str = "bayes") -> Pipeline:
    """The chapter's linear model: :func:`localbook.regression.make_linear` (``"bayes"``: Bayesian ridge, the
    thesis' choice; ``"ridge"``: ridge with its penalty by leave-one-out over the book's grid)."""
    if kind not in ("bayes", "ridge"):
        raise ValueError(f"model kind {kind!r}: use 'bayes' or 'ridge'")
    return regression.make_linear(kind)


def errors(y_true, y_pred) -> dict:
    """Errors (units of ``y``, here k_B): :func:`localbook.regression.errors`."""
    return regression.errors(y_true, y_pred)


def cv_predict(x, y, kind: str = "bayes", n_splits: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of a :func:`linear_model` by shuffled ``n_splits``-fold cross-validation."""
    return regression.cross_val_predictions(linear_model(kind), np.asarray(x, float), y, n_splits=n_splits,
                                            seed=seed).y_pred


def split_curve(x, y, train_fractions=(0.1, 0.3, 0.5, 0.7, 0.9), n_repeats: int = 10, kind: str = "bayes",
                seed: int = 0) -> dict:
    """Test errors against the training fraction (thesis fig. 3.5a): :func:`localbook.regression.split_curve`
    of a :func:`linear_model`."""
    return regression.split_curve(linear_model(kind), np.asarray(x, float), y, train_fractions, n_repeats, seed)


effective_weights = regression.unfold_linear


def local_contributions(model: Pipeline, phi_atoms, phi_reference=None) -> np.ndarray:
    """Local contributions ``S_i = <w, phi_i - phi_ref>`` (k_B), ``(N,)`` (thesis eq. 3.4).

    ``phi_atoms``: ``(N, d)`` atomic descriptors; ``phi_reference``: ``(d,)`` descriptor of a bulk atom at
    the same volume, so that bulk atoms contribute zero and the map shows the excess entropy of the defect.
    """
    w, _ = effective_weights(model)
    phi = np.asarray(phi_atoms, dtype=float)
    if phi_reference is not None:
        phi = phi - np.asarray(phi_reference, dtype=float)
    return phi @ w


def parity_plot(ax, y_true, y_pred, groups=None, title: str = "", unit: str = "k_B"):
    """Predicted vs exact values on ``ax``, one colour per value of ``groups``, with RMSE/MAE in the title.

    Returns the :func:`errors` dict.
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    groups = np.zeros(len(y_true), dtype=int) if groups is None else np.asarray(groups)
    for g in sorted(set(groups.tolist())):
        m = groups == g
        ax.scatter(y_true[m], y_pred[m], s=10, alpha=0.75, label=str(g))
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    err = errors(y_true, y_pred)
    ax.set_title(f"{title}\nRMSE {err['rmse']:.2f}, MAE {err['mae']:.2f} ${unit}$")
    ax.set_xlabel(f"exact $S_f$ (${unit}$)")
    ax.set_ylabel(f"predicted $S_f$ (${unit}$)")
    if len(set(groups.tolist())) > 1:
        ax.legend(fontsize=7, markerscale=1.5)
    return err


def count_table(db: dict, rows: str = "kind", cols: str = "strain") -> tuple[list, list]:
    """Counts of configurations by two database fields: ``(header, rows)`` for :func:`text_table`."""
    r_vals = sorted(set(db[rows].tolist()), key=str)
    c_vals = sorted(set(db[cols].tolist()))
    header = [rows] + [f"{cols}={c:g}" if isinstance(c, float) else f"{cols}={c}" for c in c_vals] + ["total"]
    out = []
    for r in r_vals:
        counts = [int(((db[rows] == r) & (db[cols] == c)).sum()) for c in c_vals]
        out.append([r] + counts + [sum(counts)])
    return header, out


def bulk_descriptor(a0: float, strain: float, name: str = "afs", n_cells: int = 1, **kw) -> np.ndarray:
    """Descriptor of one atom of the perfect bcc crystal of lattice parameter ``a0 (1 + strain)`` (A), ``(d,)``.

    Computed on the cubic supercell of ``n_cells^3`` conventional cells (periodic images supply the
    neighbours) as its summed descriptor divided by its ``2 n_cells^3`` atoms. A local descriptor (AFS) gives
    the same value for every ``n_cells``; a descriptor computed on a grid over the whole cell (the scattering)
    should use the defective cell's own size, so that both share the grid and the periodic images.
    """
    from localbook.atoms.defects import bcc_supercell
    if int(n_cells) < 1:
        raise ValueError(f"n_cells={n_cells} must be a positive number of conventional cells per side")
    cell = bcc_supercell(a0, int(n_cells), strain)
    return make_descriptor(name, **kw).fit_transform([cell])[0] / len(cell)


def formation_descriptor(x, n_atoms, phi_bulk) -> np.ndarray:
    """``Phi_d - N_d phi_bulk``: the summed descriptor minus that of as many bulk atoms at the same volume.

    If every structure's entropy is ``sum_i <w, phi_i>`` (thesis eq. 3.4), eq. 3.2 gives exactly
    ``S_f = S_d - (N_d / N_b) S_b = <w, Phi_d - N_d phi_bulk>``: a linear model on this difference carries
    over between cell sizes, where one on ``Phi_d`` alone must learn ``<w, phi_bulk> = 0`` from the data.
    ``x`` (M, d), ``n_atoms`` (M,), ``phi_bulk`` (M, d) or (d,).
    """
    return np.asarray(x, float) - np.asarray(n_atoms, float)[:, None] * np.asarray(phi_bulk, float)
