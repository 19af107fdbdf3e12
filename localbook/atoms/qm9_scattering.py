"""The scattering descriptor of chapter 02 (QM9 atomization energies): the thesis' sampling protocol, a box
fitted to each molecule, and two measurements of the descriptor (rotation drift of the predictions, linear
recovery of the composition).

The protocol (thesis sections 2.1.1 and 2.2.1, kymatio's QM7 example): the Gaussian width follows from the overlap
precision and the closest pair of atoms, ``sigma = Delta_min / sqrt(-8 log eps_o)`` (eq. 2.3); the grid step
from the aliasing precision, ``step = sigma pi / sqrt(2 log(N_a / eps_a))`` (N_a = 29, QM9's largest molecule);
the smallest wavelet is ``sigma_w = sigma_w_ratio * sigma`` (kymatio: 1 step for a density of 2 steps, 0.5);
and the box leaves around every molecule a margin of ``margin_widths`` times the widest wavelet ``2^J sigma_w``.
Kymatio's example stretches the molecules instead of narrowing the Gaussians; both give the same densities up to
a unit of length. Fixing ``sigma`` from QM9's closest pair over the whole database (not over the molecules at
hand) makes the descriptor of a molecule independent of which other molecules were drawn with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from sklearn.utils.validation import check_is_fitted

from localbook.scattering3d import SolidHarmonicScattering, check_conditions
from localbook.scattering3d import core

__all__ = ["QM9_MIN_DISTANCE_ANGSTROM", "QM9_MAX_RADIUS_ANGSTROM", "QM9_MAX_ATOMS", "SamplingProtocol",
           "sampling_protocol", "qm9_scattering", "SizeBucketedScattering", "rotation_drift", "composition_recovery"]

#: Smallest interatomic distance over qm9pack's 130,831 molecules (an O-H bond of QM9 id 77935), Å. Checked
#: against the data by ``tests/test_ch02_qm9.py`` (slow).
QM9_MIN_DISTANCE_ANGSTROM = 0.9586
#: Largest distance from a molecule's centroid to one of its atoms over QM9 (id 116821), Å.
QM9_MAX_RADIUS_ANGSTROM = 7.405
#: Largest number of atoms of a QM9 molecule.
QM9_MAX_ATOMS = 29


@dataclass(frozen=True)
class SamplingProtocol:
    """Lengths in Å that follow from the precisions (see the module docstring)."""

    eps_o: float
    eps_a: float
    sigma: float
    spacing: float
    sigma_w: float
    widest_wavelet: float
    margin: float

    def rows(self) -> list[tuple[str, str, str]]:
        """``(quantity, value, rule)`` rows for a printed table."""
        return [("Gaussian width sigma", f"{self.sigma:.3g} Å",
                 f"Delta_min / sqrt(-8 log eps_o), eps_o = {self.eps_o:g}"),
                ("grid step", f"{self.spacing:.3g} Å", f"sigma pi / sqrt(2 log(29 / eps_a)), eps_a = {self.eps_a:g}"),
                ("smallest wavelet sigma_w", f"{self.sigma_w:.3g} Å", "ratio x sigma"),
                ("widest wavelet 2^J sigma_w", f"{self.widest_wavelet:.3g} Å", ""),
                ("margin around each molecule", f"{self.margin:.3g} Å", "margin_widths x widest wavelet")]


def sampling_protocol(J: float, eps_o: float, eps_a: float, sigma_w_ratio: float = 0.5,
                      margin_widths: float = 1.5) -> SamplingProtocol:
    """The widths, step and margin (Å) of the thesis' protocol for QM9; see the module docstring."""
    if not (0 < eps_o < 1 and 0 < eps_a < 1):
        raise ValueError(f"eps_o={eps_o!r} and eps_a={eps_a!r} must be precisions in (0, 1), e.g. 0.1 and 1e-3")
    if sigma_w_ratio <= 0 or margin_widths < 1:
        raise ValueError(f"need sigma_w_ratio > 0 and margin_widths >= 1 (a margin narrower than the widest wavelet "
                         f"folds it onto the molecule's periodic images); got {sigma_w_ratio!r}, {margin_widths!r}")
    sigma = QM9_MIN_DISTANCE_ANGSTROM / math.sqrt(-8.0 * math.log(eps_o))
    spacing = sigma / core.gaussian_width_for_aliasing(QM9_MAX_ATOMS, eps_a)
    sigma_w = sigma_w_ratio * sigma
    widest = 2.0 ** J * sigma_w
    return SamplingProtocol(eps_o, eps_a, sigma, spacing, sigma_w, widest, margin_widths * widest)


def qm9_scattering(J: int, ls: Sequence[int], qs: Sequence[float], eps_o: float, eps_a: float,
                   sigma_w_ratio: float = 0.5, margin_widths: float = 1.5, max_order: int = 2,
                   channels: Sequence[str] = ("Z", "valence", "core"), bucketed: bool = True, batch_size: int = 8,
                   device="auto", progress: bool = False) -> SolidHarmonicScattering:
    """The chapter's descriptor: :class:`SolidHarmonicScattering` on the three densities of the thesis (nuclear
    charge, valence and core electrons), orders 0 to ``max_order``, sampled by :func:`sampling_protocol`. The
    conditions are checked on every molecule (``on_violation="raise"``). ``bucketed``: each molecule in a box
    fitted to its size (:class:`SizeBucketedScattering`), else one box for all."""
    p = sampling_protocol(J, eps_o, eps_a, sigma_w_ratio, margin_widths)
    cls = SizeBucketedScattering if bucketed else SolidHarmonicScattering
    return cls(J=J, L=list(ls), qs=list(qs), sigma=p.sigma, sigma_w=p.sigma_w, spacing=p.spacing,
                                   margin=p.margin, channels=tuple(channels), max_order=max_order,
                                   eps_a=eps_a * (1 + 1e-9), eps_o=eps_o * (1 + 1e-9), on_violation="raise",
                                   batch_size=batch_size, device=device, progress=progress)


class SizeBucketedScattering(SolidHarmonicScattering):
    """:class:`SolidHarmonicScattering` of molecules, each computed in a box fitted to its own size.

    The plain transformer puts every molecule in one box sized for the largest (radius 7.4 Å in QM9, 3.5 Å for
    the median molecule): most of each grid is empty space. Here each molecule goes in the smallest cubic box of a
    fast FFT size that holds its radius plus the margin; molecules sharing a box size are computed together. The
    coefficients are integrals over the whole box, so they do not depend on the box once the margin holds the
    widest wavelet (tested against the single box); on QM9 this divides the voxels per molecule by about 3
    (1,000 molecules) to 4.5 (all of them). Measured on four small molecules against a margin of 6 widest
    wavelets: integer powers converge with the margin (order 2, q = 1: 1e-1 at 1.5 widths, 7e-3 at 3, 1e-3 at 4),
    but the q = 1/2 integrals stay 2-6e-2 off even at 4 widths: a density built in Fourier space rings at the
    aliasing level eps_a over the whole box, and the square root lifts that floor (kymatio builds its densities
    in real space). So with q = 1/2 the box matters at that level, bucketed or not.

    Same parameters as :class:`SolidHarmonicScattering`; needs ``grid="box"`` (or ``"auto"`` for molecules), an
    explicit ``margin``, and not ``on_violation="rescale"`` (its stretch would depend on each box's molecules).
    """

    def fit(self, X, y=None):
        self.__dict__.pop("_boxes", None)
        if self.grid not in ("auto", "box") or self.margin is None:
            raise ValueError("SizeBucketedScattering needs grid='box' (or 'auto' for molecules) and an explicit margin")
        if self.on_violation == "rescale":
            raise ValueError("on_violation='rescale' stretches each box's molecules differently: use 'raise' or "
                             "'warn' with a sigma that meets eps_o (see sampling_protocol)")
        return super().fit(X, y)

    def _box_size(self, atoms) -> int:
        p = atoms.get_positions()
        radius = float(np.linalg.norm(p - p.mean(0), axis=1).max())
        return core.smooth_size(2 * (radius + self.margin_) / self._spacing)

    def transform(self, X):
        check_is_fitted(self, "feature_labels_")
        X = self._check_atoms(X)
        if self.condition_reports_ is not None:  # the conditions, once per molecule
            self._report([check_conditions(a, self.sigma, self._spacing, self.eps_a, self.eps_o) for a in X])
        sizes = np.array([self._box_size(a) for a in X])
        out = np.empty((len(X), self.n_features_out_))
        for n in np.unique(sizes):
            idx = np.flatnonzero(sizes == n)
            out[idx] = self._box(int(n), [X[i] for i in idx]).transform([X[i] for i in idx])
        return out

    def _box(self, n: int, structures) -> SolidHarmonicScattering:
        """The plain transformer on an ``n``-cubed box, kept between calls with its filters (a chunked or
        batched caller would otherwise rebuild the filters of every box size for every chunk)."""
        boxes = self.__dict__.setdefault("_boxes", {})
        if n not in boxes:
            params = {**self.get_params(deep=False), "grid": (n, n, n), "eps_a": None, "eps_o": None}
            boxes[n] = SolidHarmonicScattering(**params).fit(structures)
        return boxes[n]


def rotation_drift(model, transformer, structures, rng: np.random.Generator) -> np.ndarray:
    """``|F(R a) - F(a)|`` for each structure ``a`` and one random rotation ``R`` about its centroid: how much the
    predictions of a fitted ``model`` (on the columns of the fitted ``transformer``) move when the molecules turn,
    in the target's units. A rotation-invariant descriptor gives zeros; sampling errors do not."""
    from scipy.spatial.transform import Rotation

    structures = list(structures)
    turned = []
    for a in structures:
        b = a.copy()
        c = b.positions.mean(0)
        b.positions = (b.positions - c) @ Rotation.random(random_state=rng).as_matrix().T + c
        turned.append(b)
    both = transformer.transform(structures + turned)
    pred = model.predict(both)
    return np.abs(pred[len(structures):] - pred[:len(structures)])


def composition_recovery(X: np.ndarray, counts: np.ndarray, n_splits: int = 5, seed: int = 0) -> np.ndarray:
    """Largest out-of-fold error (in atoms) of a least-squares prediction of each element count from the
    descriptor ``X`` (one column of ``counts`` at a time): near 0 when the composition is a linear function of
    the descriptor, as it is for the order-0 integrals of non-overlapping Gaussians. Returns ``(n_elements,)``."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    # standardised first: the columns span many orders of magnitude (q = 1/2 to q = 4 integrals), and the
    # least-squares solver's rank cut-off is relative to the largest singular value
    pred = cross_val_predict(make_pipeline(StandardScaler(), LinearRegression()), X, counts, cv=folds)
    return np.abs(pred - counts).max(axis=0)
