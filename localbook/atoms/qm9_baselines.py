"""The reference models of thesis table 2.1, measured on chapter 02's molecules and folds.

The thesis quotes its comparison rows (Coulomb matrix, Bag of Bonds, HDAD, SOAP, all with kernel ridge) from
their publications; this module runs them, plus two trivial baselines and one modern kernel, on the same
molecules and the same cross-validation folds as the scattering models:

* **dressed atom**: ``E = b + sum_Z n_Z e_Z``, a least-squares fit on the element counts (:class:`ElementCounts`);
* **counts + pair histograms**: the counts and Gaussian-smeared histograms of the distances of every element
  pair (MBTR with k = 2), with a ridge (:func:`make_counts_histograms`);
* **CM / BoB + KRR**: the sorted Coulomb matrix (Rupp et al. 2012) and the Bag of Bonds (Hansen et al. 2015),
  both from qmllib, with a Laplacian kernel;
* **SOAP + KRR**: dscribe's SOAP power spectrum of every atom (cutoff 3 Å, the one De et al. 2016 found best on
  QM9), unit-normalised, with the local kernel ``sum_{I in A, J in B, Z_I = Z_J} (p_I . p_J)^zeta``;
* **FCHL19 + KRR**: qmllib's FCHL19 atomic representation with the local Gaussian kernel of its paper
  (Christensen et al. 2020): "what a chemist would use" for a kernel model of QM9 today.

Kernel models are fitted on precomputed kernel matrices: every kernel between all the molecules is computed once
(for each kernel width), and :class:`PrecomputedKernelRidge` takes *indices* into them as its ``X``, so that the
regression toolkit's cross-validation and learning curves run unchanged and cost only linear solves. The width
and the ridge penalty are chosen on a held-out part of each training set, then the model is refitted on all of it.

Written by hand here: the pair-distance histograms (see :class:`PairDistanceHistograms`), the local kernels
for several widths at once (:func:`local_kernels`, torch, checked against qmllib's ``get_local_kernel`` in the
tests) and the kernel ridge with held-out selection (scikit-learn's ``KernelRidge`` has no width selection on
precomputed kernels, and ``GridSearchCV`` would refactor the matrix for every penalty instead of diagonalising it
once per width).
"""
from __future__ import annotations

import time
from numbers import Integral, Real
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "QM9_ELEMENTS", "ElementCounts", "PairDistanceHistograms", "make_dressed_atom", "make_counts_histograms",
    "coulomb_matrices", "bags_of_bonds", "fchl19_environments", "soap_environments", "laplacian_kernels",
    "local_kernels", "PrecomputedKernels", "PrecomputedKernelRidge", "RegressionModel", "kernel_models",
]

#: Atomic numbers of QM9's elements (H, C, N, O, F).
QM9_ELEMENTS = (1, 6, 7, 8, 9)
_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}
#: Largest number of atoms of each element in one QM9 molecule (H20, C9, N7, O5, F6): the sizes of the bags.
_QM9_BAG_SIZES = {"H": 20, "C": 9, "N": 7, "O": 5, "F": 6}
_QM9_MAX_ATOMS = 29


def _check_molecules(structures, elements=QM9_ELEMENTS) -> list:
    from ase import Atoms

    if isinstance(structures, Atoms):
        raise TypeError("pass a list of ase.Atoms, e.g. [atoms], not a single Atoms object")
    structures = list(structures)
    if not structures:
        raise ValueError("got an empty list of molecules")
    allowed = set(elements)
    for i, a in enumerate(structures):
        if not isinstance(a, Atoms):
            raise TypeError(f"molecule {i} is a {type(a).__name__}, not an ase.Atoms")
        bad = sorted(set(a.numbers.tolist()) - allowed)
        if bad:
            raise ValueError(f"molecule {i} holds atomic numbers {bad}, outside the elements {list(elements)}; "
                             "pass elements= with every element of the data")
    return structures


# ---------------------------------------------------------------------------------------------- trivial baselines
class ElementCounts(TransformerMixin, BaseEstimator):
    """Number of atoms of each element, ``(n_molecules, len(elements))``: the dressed-atom features."""

    _parameter_constraints = {"elements": ["array-like"]}

    def __init__(self, elements: Sequence[int] = QM9_ELEMENTS):
        self.elements = elements

    def fit(self, X, y=None):
        self._validate_params()
        _check_molecules(X, self.elements)
        self.n_features_out_ = len(self.elements)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_out_")
        X = _check_molecules(X, self.elements)
        z = np.asarray(self.elements)
        return np.stack([(a.numbers[:, None] == z).sum(0) for a in X]).astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"n_{_SYMBOLS.get(z, z)}" for z in self.elements], dtype=object)


class PairDistanceHistograms(TransformerMixin, BaseEstimator):
    """Gaussian-smeared histograms of the interatomic distances of every element pair.

    Each pair of atoms of a molecule adds a Gaussian of width ``smearing_angstrom`` centred on its distance (and
    cut at 4 widths) to the histogram of its element pair, sampled at ``n_bins`` distances from 0.5 Å to
    ``r_max_angstrom``. Output ``(n_molecules, n_pairs * n_bins)``, ``n_pairs = 15`` for QM9's five elements;
    columns named ``C-H_1.23``. The defaults (30 bins, 0.2 Å) were the better of four settings tried on 300 and
    1,000 molecules (5-fold MAE 10.2 and 5.3 kcal/mol; 60 bins of 0.1 Å: 18.3 and 6.4). This is dscribe's MBTR
    with k = 2 and unit weights, written out here because dscribe 2.1.2's MBTR fails on ASE 3.29 (it passes
    ``ase.Atoms`` arguments by position and hits the new ``velocities``).
    """

    _parameter_constraints = {"elements": ["array-like"],
                              "r_max_angstrom": [Interval(Real, 0.5, None, closed="neither")],
                              "n_bins": [Interval(Integral, 2, None, closed="left")],
                              "smearing_angstrom": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, elements: Sequence[int] = QM9_ELEMENTS, r_max_angstrom: float = 8.0, n_bins: int = 30,
                 smearing_angstrom: float = 0.2):
        self.elements = elements
        self.r_max_angstrom = r_max_angstrom
        self.n_bins = n_bins
        self.smearing_angstrom = smearing_angstrom

    def _pairs(self):
        z = sorted(self.elements)
        return [(a, b) for i, a in enumerate(z) for b in z[i:]]

    def fit(self, X, y=None):
        self._validate_params()
        if not (self.r_max_angstrom > 0.5 and int(self.n_bins) >= 2 and self.smearing_angstrom > 0):
            raise ValueError(f"need r_max_angstrom > 0.5, n_bins >= 2 and smearing_angstrom > 0; got "
                             f"{self.r_max_angstrom}, {self.n_bins}, {self.smearing_angstrom}")
        _check_molecules(X, self.elements)
        self.grid_angstrom_ = np.linspace(0.5, float(self.r_max_angstrom), int(self.n_bins))
        self.n_features_out_ = len(self._pairs()) * int(self.n_bins)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_out_")
        X = _check_molecules(X, self.elements)
        pairs = self._pairs()
        code = {p: k for k, p in enumerate(pairs)}
        lookup = np.full((max(self.elements) + 1,) * 2, -1)
        for (a, b), k in code.items():
            lookup[a, b] = lookup[b, a] = k
        s = float(self.smearing_angstrom)
        out = np.zeros((len(X), len(pairs), len(self.grid_angstrom_)))
        for m, atoms in enumerate(X):
            i, j = np.triu_indices(len(atoms), 1)
            if len(i) == 0:
                continue
            d = np.linalg.norm(atoms.positions[i] - atoms.positions[j], axis=1)
            u = (self.grid_angstrom_[None, :] - d[:, None]) / s
            # tails cut at 4 widths: a bin that a few training molecules reach only through a 1e-30 tail would
            # get a 1e-30 standard deviation, and standardising it would blow up any test molecule that reaches it
            g = np.where(np.abs(u) < 4.0, np.exp(-0.5 * u ** 2), 0.0) / (s * np.sqrt(2 * np.pi))
            np.add.at(out[m], lookup[atoms.numbers[i], atoms.numbers[j]], g)
        return out.reshape(len(X), -1)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"{_SYMBOLS.get(b, b)}-{_SYMBOLS.get(a, a)}_{r:.3g}" for a, b in self._pairs()
                           for r in self.grid_angstrom_], dtype=object)


def make_dressed_atom() -> Pipeline:
    """The dressed-atom model: least squares on the element counts (one energy per element plus a constant)."""
    return make_pipeline(ElementCounts(), LinearRegression())


def make_counts_histograms(alphas: Sequence[float] = tuple(np.logspace(-8, 6, 29)), **histogram_params) -> Pipeline:
    """Element counts and pair-distance histograms (:class:`PairDistanceHistograms`), then a ridge whose penalty
    is chosen by leave-one-out among ``alphas``. Takes a list of ``ase.Atoms``.

    The features are *not* standardised: every column is a number of atoms or of pairs (per Å), and
    standardising gives the rare bins (reached by a handful of training molecules) a tiny spread and a huge
    weight: on 1,000 molecules the standardised ridge's test MAE was 52.6 kcal/mol against 6.4 without.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import FeatureUnion

    features = FeatureUnion([("counts", ElementCounts()), ("histograms", PairDistanceHistograms(**histogram_params))])
    return Pipeline([("features", features), ("ridge", RidgeCV(alphas=np.asarray(alphas, dtype=float)))])


# ------------------------------------------------------------------------------------------- representations
def coulomb_matrices(structures, size: int = _QM9_MAX_ATOMS) -> np.ndarray:
    """Row-norm sorted Coulomb matrices (qmllib), upper triangles, ``(n_molecules, size (size + 1) / 2)``."""
    from qmllib.representations import generate_coulomb_matrix

    structures = _check_molecules(structures)
    return np.stack([generate_coulomb_matrix(a.numbers, a.positions, size=size, sorting="row-norm")
                     for a in structures])


def bags_of_bonds(structures, bag_sizes: dict | None = None) -> np.ndarray:
    """Bag of Bonds (qmllib), ``(n_molecules, n_features)``; ``bag_sizes``: largest count of each element."""
    from qmllib.representations import generate_bob

    structures = _check_molecules(structures)
    sizes = dict(_QM9_BAG_SIZES if bag_sizes is None else bag_sizes)
    atomtypes = np.array(list(sizes))
    return np.stack([generate_bob(a.numbers, a.positions, atomtypes, size=_QM9_MAX_ATOMS, asize=sizes)
                     for a in structures])


def fchl19_environments(structures, elements: Sequence[int] = QM9_ELEMENTS) -> list[np.ndarray]:
    """qmllib's FCHL19 representation of every atom (default parameters of the paper): one
    ``(n_atoms, n_features)`` array per molecule."""
    from qmllib.representations import generate_fchl19

    structures = _check_molecules(structures, elements)
    return [np.asarray(generate_fchl19(a.numbers, a.positions, elements=list(elements), pad=False))
            for a in structures]


def soap_environments(structures, r_cut_angstrom: float = 3.0, n_max: int = 6, l_max: int = 4,
                      sigma_angstrom: float = 0.3, elements: Sequence[int] = QM9_ELEMENTS) -> list[np.ndarray]:
    """dscribe's SOAP power spectrum of every atom, unit-normalised: one ``(n_atoms, n_features)`` array per
    molecule (cutoff 3 Å: De et al. 2016's best on QM9)."""
    from dscribe.descriptors import SOAP

    structures = _check_molecules(structures, elements)
    soap = SOAP(species=[_SYMBOLS[z] for z in elements], r_cut=float(r_cut_angstrom), n_max=int(n_max),
                l_max=int(l_max), sigma=float(sigma_angstrom), periodic=False, sparse=False)
    out = []
    for a in structures:
        p = np.asarray(soap.create(a, n_jobs=1), dtype=np.float64)
        out.append(p / np.linalg.norm(p, axis=1, keepdims=True))
    return out


# ----------------------------------------------------------------------------------------------------- kernels
def laplacian_kernels(X: np.ndarray, sigmas: Sequence[float], device="cpu") -> np.ndarray:
    """``exp(-|x_a - x_b|_1 / sigma)`` between all rows of ``X``, for each width: ``(len(sigmas), n, n)``."""
    x = torch.as_tensor(np.asarray(X, dtype=np.float64), device=device)
    d = torch.cdist(x, x, p=1)
    out = np.empty((len(sigmas), len(x), len(x)))  # filled in place: no list of matrices, then a stacked copy
    for k, s in enumerate(sigmas):
        out[k] = torch.exp(-d / float(s)).cpu().numpy()
    return out


#: Largest (atoms x atoms) block of a local kernel, bytes: with the block's dot products and squared distances,
#: about three of them are alive at once. At 10,000 QM9 molecules (92,000 hydrogens) a 4,096-row block of all
#: four FCHL19 widths at once was 12 GB and, beside the other kernels, ended the medium run out of memory.
LOCAL_KERNEL_BLOCK_BYTES = 1 << 30


def local_kernels(environments: Sequence[np.ndarray], numbers: Sequence[np.ndarray], *, sigmas=None,
                  zeta: float | None = None, device="cpu", chunk: int = 4096) -> np.ndarray:
    """Local (atom-decomposed) kernels between all molecules: ``K_ab = sum_{I in a, J in b, Z_I = Z_J} k(x_I, x_J)``.

    ``environments``: one ``(n_atoms, d)`` array per molecule; ``numbers``: their atomic numbers. Either
    ``sigmas`` (Gaussian ``k = exp(-|x_I - x_J|^2 / (2 sigma^2))``, qmllib's ``get_local_kernel``, for every width
    at once: output ``(len(sigmas), n, n)``) or ``zeta`` (SOAP's ``k = (x_I . x_J)^zeta``: output ``(1, n, n)``).
    Atoms of different elements do not interact. Computed one element, one block of at most ``chunk`` atoms (and
    :data:`LOCAL_KERNEL_BLOCK_BYTES`) and one width at a time.
    """
    if (sigmas is None) == (zeta is None):
        raise ValueError("pass exactly one of sigmas= (Gaussian local kernel) or zeta= (dot-product kernel)")
    if len(environments) != len(numbers):
        raise ValueError(f"{len(environments)} environment arrays for {len(numbers)} molecules")
    n = len(environments)
    x = np.concatenate(environments)
    z = np.concatenate([np.asarray(q) for q in numbers])
    mol = np.repeat(np.arange(n), [len(e) for e in environments])
    if len(z) != len(x):
        raise ValueError("each environment array needs one row per atom of its molecule")
    widths = [None] if sigmas is None else [float(s) for s in sigmas]
    out = torch.zeros(len(widths), n, n, dtype=torch.float64, device=device)
    for element in np.unique(z):
        idx = np.flatnonzero(z == element)
        xe = torch.as_tensor(x[idx], dtype=torch.float64, device=device)
        owner = torch.as_tensor(mol[idx], device=device)  # the molecule of each atom of this element
        sq = (xe ** 2).sum(1)
        rows = max(1, min(chunk, LOCAL_KERNEL_BLOCK_BYTES // (8 * len(idx))))
        for s in range(0, len(idx), rows):
            block = xe[s:s + rows]
            dot = block @ xe.T
            d2 = None if sigmas is None else (sq[s:s + rows, None] + sq[None, :] - 2 * dot).clamp_min(0)
            for k, w in enumerate(widths):  # sum the atom pairs into molecule pairs: columns, then rows
                kern = dot.clamp_min(0) ** float(zeta) if sigmas is None else torch.exp(-d2 / (2 * w * w))
                per_molecule = torch.zeros(len(block), n, dtype=torch.float64, device=device).index_add_(1, owner, kern)
                out[k].index_add_(0, owner[s:s + rows], per_molecule)
                del kern
    return out.cpu().numpy()


class PrecomputedKernels:
    """A read-only stack of kernel matrices ``(n_widths, n, n)`` between all molecules, with the widths.

    Shared, not copied, by ``copy.deepcopy`` (hence by scikit-learn's ``clone``): cross-validation clones the
    estimator that holds it once per fold, and a 10,000-molecule kernel is 800 MB per width.
    """

    def __init__(self, matrices: np.ndarray, widths: Sequence[float | None], counts: np.ndarray | None = None):
        matrices = np.asarray(matrices, dtype=np.float64)
        if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2] or len(widths) != len(matrices):
            raise ValueError(f"matrices must be (n_widths, n, n) with one width each; got {matrices.shape} and "
                             f"{len(widths)} widths")
        if counts is not None and (np.ndim(counts) != 2 or len(counts) != matrices.shape[1]):
            raise ValueError(f"counts must be (n_molecules, n_elements) = ({matrices.shape[1]}, ...), "
                             f"got {np.shape(counts)}")
        self.matrices = matrices
        self.widths = list(widths)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.float64)
        matrices.setflags(write=False)

    def __len__(self) -> int:
        return self.matrices.shape[1]

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"PrecomputedKernels({len(self.widths)} widths, {len(self)} molecules)"


class PrecomputedKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on precomputed kernels, ``X`` being the molecules' indices ``(n, 1)`` into them.

    With ``dressed_atom=True`` (the default), a least-squares fit on the element counts (``kernels.counts``) is
    subtracted first and the kernel model learns the rest: the atomization energy grows with the number of atoms
    (about -90 kcal/mol per carbon) and a Gaussian kernel alone regresses to the mean away from its training
    molecules (on 240 training molecules, FCHL19's held-out MAE was 39 kcal/mol without and 5.9 with).
    ``fit`` then holds out ``validation_fraction`` of the training molecules (seeded), and for each kernel width
    diagonalises the held-in kernel once to score every penalty in ``alphas`` (MAE on the held-out part); the
    best (width, penalty) is then refitted on all the training molecules (Cholesky). The target is centred.
    Learned: ``width_``, ``alpha_``, ``dual_coef_``, ``train_index_``, ``y_mean_``, ``validation_mae_``
    (``(n_widths, n_alphas)``), ``dressed_atom_`` (the counts model, or ``None``).
    """

    _parameter_constraints = {"kernels": [PrecomputedKernels, None], "alphas": ["array-like"],
                              "dressed_atom": ["boolean"],
                              "validation_fraction": [Interval(Real, 0, 0.5, closed="neither")],
                              "random_state": [Interval(Integral, 0, None, closed="left")]}

    def __init__(self, kernels: PrecomputedKernels | None = None,
                 alphas: Sequence[float] = tuple(np.logspace(-10, 0, 11)),
                 dressed_atom: bool = True, validation_fraction: float = 0.2, random_state: int = 0):
        self.kernels = kernels
        self.alphas = alphas
        self.dressed_atom = dressed_atom
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _index(self, X) -> np.ndarray:
        if not isinstance(self.kernels, PrecomputedKernels):
            raise TypeError("kernels must be a PrecomputedKernels (e.g. from laplacian_kernels / local_kernels)")
        X = np.asarray(X)
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if (X.ndim != 1 or not np.all(np.mod(X, 1) == 0) or X.min(initial=0) < 0
                or X.max(initial=0) >= len(self.kernels)):
            raise ValueError(f"X must be molecule indices (n, 1) in [0, {len(self.kernels)}) into the precomputed "
                             "kernels, e.g. np.arange(n)[:, None]")
        return X.astype(np.int64)

    def fit(self, X, y):
        self._validate_params()
        idx = self._index(X)
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(idx) or len(idx) < 5:
            raise ValueError(f"need one target per index and at least 5 molecules; got {len(idx)} and {len(y)}")
        if not 0 < self.validation_fraction < 0.5:
            raise ValueError(f"validation_fraction must be in (0, 0.5), got {self.validation_fraction}")
        alphas = np.asarray(self.alphas, dtype=np.float64)
        self.dressed_atom_ = None
        if self.dressed_atom:
            if self.kernels.counts is None:
                raise ValueError("dressed_atom=True needs the element counts: PrecomputedKernels(..., counts=...)")
            self.dressed_atom_ = LinearRegression().fit(self.kernels.counts[idx], y)
            y = y - self.dressed_atom_.predict(self.kernels.counts[idx])
        perm = np.random.default_rng(self.random_state).permutation(len(idx))
        n_val = max(1, int(round(self.validation_fraction * len(idx))))
        val, tr = perm[:n_val], perm[n_val:]
        self.y_mean_ = float(y.mean())
        yc = y - self.y_mean_
        scores = np.empty((len(self.kernels.widths), len(alphas)))
        for w, K in enumerate(self.kernels.matrices):
            k_tr = torch.as_tensor(K[np.ix_(idx[tr], idx[tr])])
            evals, evecs = torch.linalg.eigh(k_tr)
            proj = evecs.T @ torch.as_tensor(yc[tr])
            k_val = torch.as_tensor(K[np.ix_(idx[val], idx[tr])]) @ evecs
            for a, alpha in enumerate(alphas):
                pred = k_val @ (proj / (evals + alpha))
                scores[w, a] = float(np.mean(np.abs(pred.numpy() - yc[val])))
        w, a = np.unravel_index(np.argmin(scores), scores.shape)
        self.validation_mae_ = scores
        self.width_, self.alpha_ = self.kernels.widths[w], float(alphas[a])
        self.width_index_ = int(w)
        K = torch.as_tensor(self.kernels.matrices[w][np.ix_(idx, idx)])
        K = K + self.alpha_ * torch.eye(len(idx), dtype=torch.float64)
        chol, info = torch.linalg.cholesky_ex(K)
        if int(info) != 0:  # numerically not positive definite at this penalty: fall back to a symmetric solve
            self.dual_coef_ = torch.linalg.lstsq(K, torch.as_tensor(yc)[:, None]).solution[:, 0].numpy()
        else:
            self.dual_coef_ = torch.cholesky_solve(torch.as_tensor(yc)[:, None], chol)[:, 0].numpy()
        self.train_index_ = idx
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        idx = self._index(X)
        out = self.kernels.matrices[self.width_index_][np.ix_(idx, self.train_index_)] @ self.dual_coef_ + self.y_mean_
        if self.dressed_atom_ is not None:
            out = out + self.dressed_atom_.predict(self.kernels.counts[idx])
        return out


# --------------------------------------------------------------------------------------------------- the table
@dataclass
class RegressionModel:
    """One row of table 2.1 ready to be cross-validated: ``estimator`` takes ``X`` (features, indices into
    precomputed kernels, or a list of ``ase.Atoms``); ``seconds_per_molecule`` is the cost of the representation
    (and kernels) per molecule; ``thesis_mae`` the thesis' number as text (kcal/mol, 107,108 training molecules)."""

    name: str
    X: np.ndarray
    estimator: BaseEstimator
    seconds_per_molecule: float | None
    thesis_mae: str = "—"
    note: str = ""
    extra: dict = field(default_factory=dict)


def _timed(fn: Callable, n: int):
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) / n


def kernel_models(structures, which: Sequence[str] = ("cm", "bob", "soap", "fchl19"), device="cpu",
                  cm_sigmas=(25.0, 50.0, 100.0, 200.0, 400.0), fchl_sigmas=(1.0, 2.0, 4.0, 8.0),
                  soap_zeta: float = 2.0, progress: Callable[[str], None] | None = None) -> list[RegressionModel]:
    """The kernel rows of table 2.1 on ``structures`` (a list of ``ase.Atoms``): for each of ``which``
    (``"cm"``, ``"bob"``, ``"soap"``, ``"fchl19"``), the representation, its kernels between all molecules
    (for the candidate widths) and a :class:`PrecomputedKernelRidge` over them. ``X`` of each row is the index
    column ``arange(n)[:, None]``: cross-validate them with the same folds as the other models."""
    structures = _check_molecules(structures)
    n = len(structures)
    index = np.arange(n)[:, None]
    numbers = [a.numbers for a in structures]
    counts = ElementCounts().fit_transform(structures)
    rows = []
    for name in which:
        if progress is not None:
            progress(name)
        if name in ("cm", "bob"):
            rep = coulomb_matrices if name == "cm" else bags_of_bonds
            K, sec = _timed(lambda rep=rep: laplacian_kernels(rep(structures), cm_sigmas, device=device), n)
            kernels = PrecomputedKernels(K, cm_sigmas, counts)
            label, thesis = ("CM KRR", "2.95") if name == "cm" else ("BoB KRR", "1.53")
            note = "qmllib, Laplacian kernel"
        elif name == "soap":
            K, sec = _timed(lambda: local_kernels(soap_environments(structures), numbers, zeta=soap_zeta,
                                                  device=device), n)
            kernels = PrecomputedKernels(K, [None], counts)
            label, thesis, note = "SOAP KRR", "0.53", f"dscribe, r_cut 3 Å, local (p.p')^{soap_zeta:g}"
        elif name == "fchl19":
            K, sec = _timed(lambda: local_kernels(fchl19_environments(structures), numbers, sigmas=fchl_sigmas,
                                                  device=device), n)
            kernels = PrecomputedKernels(K, fchl_sigmas, counts)
            label, thesis, note = "FCHL19 KRR", "—", "qmllib, local Gaussian kernel"
        else:
            raise ValueError(f"unknown model {name!r}: choose among 'cm', 'bob', 'soap', 'fchl19'")
        rows.append(RegressionModel(label, index, PrecomputedKernelRidge(kernels), sec, thesis, note))
    return rows

