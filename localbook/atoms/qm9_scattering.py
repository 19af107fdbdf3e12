"""The scattering descriptor of chapter 02 (QM9 atomization energies): the thesis' sampling protocol and two
measurements of the descriptor (rotation drift of the predictions, linear recovery of the composition). Boxes
fitted to each molecule and the multi-resolution loop are the front end's (``grid="molecule"``,
``resolution="multi"``).

The protocol (thesis sections 2.1.1 and 2.2.1, kymatio's QM7 example): the Gaussian width follows from the overlap
precision and the closest pair of atoms, ``sigma = Delta_min / sqrt(-8 log eps_o)`` (eq. 2.3); the grid step
from the aliasing precision, ``step = sigma pi / sqrt(2 log(N_a / eps_a))`` (N_a = 29, QM9's largest molecule);
the smallest wavelet is ``sigma_w = sigma_w_ratio * sigma`` (kymatio: 1 step for a density of 2 steps, 0.5);
and each molecule's box leaves around it a margin of ``margin_widths`` times the widest wavelet ``2^J sigma_w``.
Kymatio's example stretches the molecules instead of narrowing the Gaussians; both give the same densities up to
a unit of length. Fixing ``sigma`` from QM9's closest pair over the whole database (not over the molecules at
hand) makes the descriptor of a molecule independent of which other molecules were drawn with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from localbook.scattering3d import SolidHarmonicScattering
from localbook.scattering3d.sampling import gaussian_width_for_aliasing

__all__ = ["QM9_MIN_DISTANCE_ANGSTROM", "QM9_MAX_RADIUS_ANGSTROM", "QM9_MAX_ATOMS", "SamplingProtocol",
           "sampling_protocol", "qm9_scattering", "box_sizes", "rotation_drift", "composition_recovery"]

#: Smallest interatomic distance over qm9pack's 130,831 molecules (an O-H bond of QM9 id 77935), Å. Checked
#: against the data by ``tests/test_ch02_qm9_regression.py`` (slow).
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
    spacing = sigma / gaussian_width_for_aliasing(QM9_MAX_ATOMS, eps_a)
    sigma_w = sigma_w_ratio * sigma
    widest = 2.0 ** J * sigma_w
    return SamplingProtocol(eps_o, eps_a, sigma, spacing, sigma_w, widest, margin_widths * widest)


def qm9_scattering(J: int, ls: Sequence[int], qs: Sequence[float], eps_o: float, eps_a: float,
                   sigma_w_ratio: float = 0.5, margin_widths: float = 1.5, max_order: int = 2,
                   channels: Sequence[str] = ("Z", "valence", "core"), grid: str = "molecule",
                   orientation: str = "principal", resolution: str = "exact", scale_eps: float = 1e-4,
                   oversampling: float = 2.0, batch_size: int = 8, device="auto",
                   progress: bool = False) -> SolidHarmonicScattering:
    """The chapter's descriptor: :class:`SolidHarmonicScattering` on the three densities of the thesis (nuclear
    charge, valence and core electrons), orders 0 to ``max_order``, sampled by :func:`sampling_protocol`. The
    conditions are checked on every molecule (``on_violation="raise"``).

    ``grid="molecule"`` puts each molecule in the smallest box that holds it and its margin (QM9's median molecule
    has a radius of 3.5 Å, its largest 7.4 Å: about 3x fewer voxels than one shared box on 1,000 molecules); the
    coefficients are integrals over the box, so they do not depend on it once the margin holds the widest wavelet
    (``tests/test_qm9_scattering.py``), except the ``q = 1/2`` integrals, which also sum the square root of the
    ringing at the aliasing level ``eps_a`` that a density built in Fourier space carries over the whole box.
    ``orientation="principal"`` turns each molecule into its principal axes of inertia first: the predictions of
    a ridge on the quick sampling then move by 0.05 kcal/mol on average under random rotations instead of 0.8
    (:func:`rotation_drift`; ``tests/test_qm9_scattering.py`` checks it stays under 1 kcal/mol).
    ``resolution="multi"`` computes each scale on the coarsest grid its band allows at precision ``scale_eps``
    (see :class:`~localbook.scattering3d.grid.GridScattering`)."""
    p = sampling_protocol(J, eps_o, eps_a, sigma_w_ratio, margin_widths)
    return SolidHarmonicScattering(J=J, L=list(ls), qs=list(qs), sigma=p.sigma, sigma_w=p.sigma_w, spacing=p.spacing,
                                   grid=grid, margin=p.margin, orientation=orientation, channels=tuple(channels),
                                   max_order=max_order,
                                   eps_a=eps_a * (1 + 1e-9), eps_o=eps_o * (1 + 1e-9), on_violation="raise",
                                   resolution=resolution, scale_eps=scale_eps, oversampling=oversampling,
                                   batch_size=batch_size, device=device, progress=progress)


def box_sizes(transformer: SolidHarmonicScattering, structures) -> np.ndarray:
    """Grid points per side of the cubic box in which a fitted ``transformer`` computes each structure
    (``(n,)`` int): its own box with ``grid="molecule"``, the shared one with ``grid="box"``. Asks the front end's
    own placement, so that the numbers are those of the computation."""
    return np.array([transformer._placement(a, i)[0][0][0] for i, a in enumerate(structures)])


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
