"""A linear surrogate of the formation entropy on summed atomic descriptors (thesis section 3.4).

``S_f ~ <w, Phi> + b`` with ``Phi = sum_i phi(N_i)``, fitted by the book's linear models
(:func:`localbook.regression.make_linear`: Bayesian ridge, the thesis' choice, or ridge). The descriptor is any
scikit-learn transformer mapping a list of ``ase.Atoms`` to ``(M, d)`` arrays. Two are registered here: the
AFS descriptor (``"afs"``, :class:`localbook.atoms.afs.AFSDescriptor`, thesis section 3.4.2) and the
solid-harmonic scattering of chapter 01 (``"scattering"``, thesis section 3.4.3); others plug in with
:func:`register_descriptor` and need nothing else. A descriptor with a ``per_atom(atoms)`` method also gives
local contributions (thesis eq. 3.4).

What is specific to chapter 3 lives here: the formation descriptor ``Phi_d - N_d phi_bulk`` at each cell's own
strain (:func:`formation_features`), the trivial baselines every results table carries
(:func:`baseline_features`), and the comparison of several feature sets on the same folds or the same
train/test split (:func:`compare_on_folds`, :func:`compare_on_split`). Cross-validation, metrics and curves are
those of :mod:`localbook.regression`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from localbook import regression

__all__ = ["DESCRIPTORS", "SCATTERING_J", "register_descriptor", "make_descriptor", "scales_within",
           "local_contributions", "bulk_descriptor", "formation_descriptor", "formation_features",
           "baseline_features", "BASELINES", "closest_pair_overlap", "compare_on_folds", "compare_on_split",
           "training_sizes"]

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


def closest_pair_overlap(structures, sigma: float) -> tuple[float, float]:
    """``(distance, overlap)``: the closest pair of atoms over ``structures`` (periodic images included, Å) and
    the overlap of two Gaussians of width ``sigma`` that far apart at mid-distance, chapter 01's eps_o
    (:func:`localbook.scattering3d.sampling.overlap_precision`; the thesis asks for 0.1 or less)."""
    from localbook.scattering3d.sampling import overlap_precision
    if not structures:
        raise ValueError("closest_pair_overlap needs at least one structure")
    closest = min(float(np.min(a.get_all_distances(mic=bool(np.all(a.pbc)))[np.triu_indices(len(a), 1)]))
                  for a in structures)
    return closest, overlap_precision(sigma, closest)


def local_contributions(model, phi_atoms, phi_reference=None) -> np.ndarray:
    """Local contributions ``S_i = <w, phi_i - phi_ref>`` (k_B), ``(N,)`` (thesis eq. 3.4).

    ``model``: a fitted linear model (:func:`localbook.regression.unfold_linear` reads its raw weights);
    ``phi_atoms``: ``(N, d)`` atomic descriptors; ``phi_reference``: ``(d,)`` descriptor of a bulk atom at the
    same volume, so that bulk atoms contribute zero and the map shows the excess entropy of the defect.
    """
    w, _ = regression.unfold_linear(model)
    phi = np.asarray(phi_atoms, dtype=float)
    if phi_reference is not None:
        phi = phi - np.asarray(phi_reference, dtype=float)
    return phi @ w


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


def formation_features(structures, a0: float, name: str = "afs", cache=None, progress=None,
                       **kw) -> tuple[np.ndarray, float]:
    """Formation descriptors ``Phi_d - N_d phi_bulk`` of a defect database, ``(M, d)``, and the seconds per
    structure of the summed descriptors.

    ``structures``: ``ase.Atoms`` with ``info["strain"]`` and ``info["n_cells"]`` (a database of
    :mod:`localbook.atoms.defect_database`); ``a0`` (A): its zero-strain lattice parameter. The summed
    descriptors go through :func:`localbook.compute.cached_transform` (chunked, cached, resumable); each
    structure's bulk reference is the perfect crystal at its own strain (and, for the scattering, in a cell of
    its own size: :func:`bulk_descriptor`). ``kw``: the descriptor's parameters (``device=`` among them).
    """
    from localbook.compute import cached_transform
    if not structures:
        raise ValueError("formation_features needs at least one structure")
    x, seconds = cached_transform(make_descriptor(name, **kw), structures, f"iron-{name}", cache=cache,
                                  progress=progress)
    cells = [(float(s.info["strain"]), int(s.info["n_cells"])) for s in structures]
    by_cell = {c: bulk_descriptor(a0, c[0], name, n_cells=c[1] if name != "afs" else 1, **kw)
               for c in sorted(set(cells))}
    out = formation_descriptor(x, [len(s) for s in structures], np.stack([by_cell[c] for c in cells]))
    if name == "scattering":
        _forget_filter_banks()
    return out, seconds


def _forget_filter_banks() -> None:
    """Empty the scattering's cache of filter banks (kept per grid and box): the bank of a 128-atom iron cell at
    sigma = 0.3 A holds about 4.5 GB, and the next database's cells (another lattice parameter, another box) would
    build a second one beside it (chapter 04's quick run peaked at 10.5 GB with both potentials, 5.95 GB without)."""
    from localbook.scattering3d import clear_filter_banks
    clear_filter_banks()


#: the trivial baselines of the chapter's tables (see :func:`baseline_features`)
BASELINES = {
    "cell mean": "the mean entropy of the training configurations of the same kind, strain and cell size",
    "defect counts": "a linear function of the numbers of vacancies and interstitials (Wigner-Seitz)",
}


def baseline_features(structures, baseline: str = "cell mean") -> np.ndarray:
    """Features whose linear fit is a trivial baseline (:data:`BASELINES`): ``"cell mean"`` one-hot indicators
    of ``(kind, strain, n_cells)`` (a linear model on them predicts the per-cell training mean), ``"defect
    counts"`` the columns ``(n_vacancies, n_interstitials)`` of ``info``. Returns ``(M, k)`` floats."""
    if baseline == "cell mean":
        keys = [(s.info["kind"], float(s.info["strain"]), int(s.info["n_cells"])) for s in structures]
        levels = sorted(set(keys), key=str)
        return np.array([[k == level for level in levels] for k in keys], float)
    if baseline == "defect counts":
        return np.array([[s.info["n_vacancies"], s.info["n_interstitials"]] for s in structures], float)
    raise ValueError(f"baseline {baseline!r}: choose one of {sorted(BASELINES)}")


def compare_on_folds(features: dict, y, *, groups=None, model: str = "bayes", n_splits: int = 5,
                     seed: int = 0) -> dict:
    """Out-of-fold predictions of :func:`localbook.regression.make_linear` ``(model)`` on each feature set of
    ``features`` (``{name: (M, d)}``), all on the same folds (:func:`localbook.regression.cv_folds`: whole
    ``groups`` left out together, e.g. every strained copy of one defect). Returns ``{name: CVResult}``."""
    y = np.asarray(y, float)
    out = {}
    for name, x in features.items():
        if len(x) != len(y):
            raise ValueError(f"feature set {name!r} has {len(x)} rows for {len(y)} targets")
        out[name] = regression.cross_val_predictions(regression.make_linear(model), np.asarray(x, float), y,
                                                     n_splits=n_splits, groups=groups, seed=seed)
    return out


def compare_on_split(features: dict, y, train, test, *, model: str = "bayes") -> dict:
    """Each feature set of ``features`` fitted on the rows ``train`` and evaluated on ``test`` (boolean masks
    or indices): ``{name: {"y_pred": (T,), "errors": {...}, "model": fitted}}`` (a transfer test)."""
    y = np.asarray(y, float)
    out = {}
    for name, x in features.items():
        x = np.asarray(x, float)
        fitted = regression.make_linear(model).fit(x[train], y[train])
        pred = fitted.predict(x[test])
        out[name] = {"y_pred": pred, "errors": regression.errors(y[test], pred), "model": fitted}
    return out


def training_sizes(n_samples: int, n_splits: int, n_points: int = 5, smallest: int = 16) -> np.ndarray:
    """Training-set sizes for a learning curve over ``n_splits`` folds of ``n_samples`` samples: ``n_points``
    sizes spaced geometrically from ``smallest`` up to the smallest training part, ``n - ceil(n / n_splits)``
    (whole groups of one sample each: folds of equal size); fewer when they coincide."""
    top = n_samples - -(-n_samples // n_splits)
    if top < 2:
        raise ValueError(f"{n_samples} samples in {n_splits} folds leave {top} for training: need at least 2")
    return np.unique(np.geomspace(max(2, min(smallest, top)), top, n_points).astype(int))
