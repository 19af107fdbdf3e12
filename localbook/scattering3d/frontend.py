"""Front end: ``ase.Atoms`` in, labelled scattering coefficients out (scikit-learn transformer).

Validates the arguments once, places structures on grids (a box with a margin for molecules, the cell
itself for periodic orthorhombic crystals), checks the thesis' sampling conditions, batches structures
that share a grid, and hands densities in Fourier space to :class:`.transform.GridScattering`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from localbook.checks import check_memory, check_structures, grid_bytes
from localbook.device import pick_device
from localbook.scattering3d import backend, core
from localbook.scattering3d.transform import GridScattering

__all__ = ["SolidHarmonicScattering", "ConditionReport", "check_conditions", "atom_channels", "CHANNELS",
           "SamplingConditionWarning", "check_wavelets_fit_cells", "coefficient_scales"]

_NOBLE = np.array([0, 2, 10, 18, 36, 54, 86, 118])


def _core_electrons(z: np.ndarray) -> np.ndarray:
    """Electrons of the previous noble gas, plus filled d (and f) shells for p-block elements after them."""
    core_e = _NOBLE[np.searchsorted(_NOBLE, z, side="left") - 1]
    core_e = core_e + 10 * (((z >= 31) & (z <= 36)) | ((z >= 49) & (z <= 54)) | ((z >= 81) & (z <= 86)))
    core_e = core_e + 14 * ((z >= 81) & (z <= 86))
    return core_e


CHANNELS = {
    "Z": "nuclear charge (= total electrons of the neutral atom)",
    "valence": "valence electrons: Z minus core electrons (Fe: 8, C: 4, H: 1)",
    "core": "core electrons: those of the previous noble gas (plus filled d/f shells in the p block)",
    "ones": "1 for every atom (one species, thesis section 2.6.1)",
}


def atom_channels(atoms, channels: Sequence[str]) -> np.ndarray:
    """Weights ``c_i`` of eq. 2.1, shape ``(n_atoms, len(channels))``.

    A channel is a name of :data:`CHANNELS` or the key of a per-atom array in ``atoms.arrays``."""
    z = atoms.get_atomic_numbers()
    cols = []
    for c in channels:
        if c == "Z":
            cols.append(z.astype(float))
        elif c == "core":
            cols.append(_core_electrons(z).astype(float))
        elif c == "valence":
            cols.append((z - _core_electrons(z)).astype(float))
        elif c == "ones":
            cols.append(np.ones(len(z)))
        elif c in atoms.arrays:
            cols.append(np.asarray(atoms.arrays[c], float).reshape(len(z)))
        else:
            raise ValueError(f"unknown channel {c!r}: use one of {sorted(CHANNELS)} or a per-atom array "
                             f"key of atoms.arrays (this structure has {sorted(atoms.arrays)})")
    return np.stack(cols, -1)


class SamplingConditionWarning(UserWarning):
    """A structure violates the aliasing or overlap condition of thesis section 2.1.1 / 2.2.1."""


@dataclass(frozen=True)
class ConditionReport:
    """The sampling conditions of one structure (thesis eq. 2.3 and section 2.2.1), lengths in Å.

    ``eps_a``: aliasing precision reached, ``N_a exp(-pi^2 (sigma/step)^2 / 2)``; ``eps_o``: overlap reached
    by the closest pair, ``exp(-Delta_min^2 / (8 sigma^2))``; ``sigma_needed`` the width (Å) that reaches
    ``eps_a_target`` on this grid step; ``delta_needed`` the minimal distance for ``eps_o_target``;
    ``rescale`` the factor on positions that would meet the overlap condition (``>= 1`` when it fails).
    """

    n_atoms: int
    min_distance: float
    sigma: float
    step: float
    eps_a: float
    eps_o: float
    eps_a_target: float | None
    eps_o_target: float | None
    sigma_needed: float | None
    delta_needed: float | None

    @property
    def aliasing_ok(self) -> bool:
        return self.eps_a_target is None or self.eps_a <= self.eps_a_target * (1 + 1e-9)

    @property
    def overlap_ok(self) -> bool:
        return self.eps_o_target is None or self.eps_o <= self.eps_o_target * (1 + 1e-9)

    @property
    def rescale(self) -> float:
        if self.delta_needed is None or not np.isfinite(self.min_distance):
            return 1.0
        return self.delta_needed / self.min_distance

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(aliasing_ok=self.aliasing_ok, overlap_ok=self.overlap_ok, rescale=self.rescale)
        return d


def _min_distance(atoms) -> float:
    if len(atoms) < 2:
        return math.inf
    d = atoms.get_all_distances(mic=bool(np.all(atoms.pbc)))
    return float(d[np.triu_indices(len(atoms), 1)].min())


def check_conditions(atoms, sigma: float, step: float, eps_a: float | None = None,
                     eps_o: float | None = None) -> ConditionReport:
    """Aliasing and overlap conditions of one ``ase.Atoms`` for a Gaussian width ``sigma`` (Å) sampled
    with grid step ``step`` (Å); targets ``eps_a``/``eps_o`` optional. See :class:`ConditionReport`."""
    n = len(atoms)
    dmin = _min_distance(atoms)
    sigma_needed = None if eps_a is None else core.gaussian_width_for_aliasing(n, eps_a) * step
    delta_needed = None if eps_o is None else core.min_distance_for_overlap(sigma, eps_o)
    return ConditionReport(n, dmin, float(sigma), float(step), core.aliasing_precision(n, sigma / step),
                           core.overlap_precision(sigma, dmin) if np.isfinite(dmin) else 0.0,
                           eps_a, eps_o, sigma_needed, delta_needed)


def _as_list(values, name, kind, lo=None):
    if isinstance(values, (int, float, np.integer, np.floating)) and not isinstance(values, bool):
        return None
    try:
        out = [kind(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {values!r}") from None
    if not out or (lo is not None and min(out) < lo):
        raise ValueError(f"{name}={values!r}: needs at least one value, each >= {lo}")
    return out


class SolidHarmonicScattering(TransformerMixin, BaseEstimator):
    """Solid harmonic wavelet scattering coefficients of atomic structures (thesis ch. 2, Eickenberg et al.).

    Each structure becomes densities ``rho_c = sum_i c_i g_sigma(r - r_i)`` (one per channel, eq. 2.1),
    built in Fourier space on a grid; the coefficients are the integrals ``int rho^q``,
    ``int U_{l,j}[rho]^q`` and ``int U_{l2,j2}[U_{l1,j1}[rho]]^q`` (j2 > j1), in Å^3 times density units
    to the power q, invariant to translations, rotations and permutations up to sampling errors.

    Parameters
    ----------
    J : int or sequence of float
        Scales: ``J`` gives ``j = 0..J``; a sequence gives the ``j`` values (fractional allowed,
        e.g. ``[0, 0.5, 1, 1.5, 2, 3, 4]`` as in thesis section 2.6.1). Wavelet width ``2^j sigma_w``.
    L : int or sequence of int
        Degrees: ``L`` gives ``l = 0..L`` (as kymatio); a sequence gives the ``l`` values.
    qs : sequence of float
        Powers of the integrals (thesis: 1/2, 1, 2, 3, 4 for QM9; 1, 2 for carbon).
    sigma : float
        Width of the atomic Gaussians, Å.
    sigma_w : float or None
        Width of the smallest wavelet (``j = 0``), Å; default ``sigma``.
    spacing : float or None
        Largest grid step, Å; default ``sigma / 1.5`` (aliasing precision ``N_a * 1.5e-5``).
    grid : "auto", "box", "cell" or (Nx, Ny, Nz)
        ``"box"``: molecules, centred in one cubic box shared by every structure (set in ``fit`` from the
        largest structure plus ``margin``); ``"cell"``: periodic orthorhombic cells, each sampled with
        2-3-5-smooth sizes whose steps are as equal as possible and ``<= spacing``; a tuple: a box of this
        shape with step ``spacing``; ``"auto"``: ``"cell"`` when every structure is periodic, else ``"box"``.
    margin : float or None
        Empty space around molecules in the box, Å; default ``3 * sqrt((2^j_max sigma_w)^2 + sigma^2)``.
    channels : sequence of str
        Weights ``c_i``: ``"Z"``, ``"valence"``, ``"core"``, ``"ones"`` or keys of ``atoms.arrays``.
    max_order : 0, 1 or 2.
    second_order : ``"same_l"`` (l2 = l1, as kymatio and thesis section 2.6.1) or ``"all_l"``.
    include_order0 : bool
        Add ``int rho^q`` (kymatio has no order 0).
    eps_a, eps_o : float or None
        Targets of the aliasing and overlap conditions; ``None`` skips the check.
    on_violation : "raise", "warn" or "rescale"
        What to do with structures that miss a target: raise, warn (:class:`SamplingConditionWarning`), or
        (overlap only, ``grid="box"``) multiply every position by the factor ``scale_`` learned in ``fit``
        so that the closest pair seen in ``fit`` meets ``eps_o`` (the thesis' QM9 protocol).
    batch_size : int
        Structures per batch (memory: about ``batch_size * C * (2 l_max + 1) * N^3 * 8`` bytes).
    device : "auto", "cpu", "cuda", ...
    dtype : "float32" or "float64".
    progress : bool
        Show a ``tqdm`` bar over batches.

    Attributes (after ``fit``)
    --------------------------
    feature_labels_ : list of :class:`CoefficientLabel`, one per output column.
    scale_ : float, factor applied to positions (1 unless rescaling).
    grid_shape_, box_length_ : the shared box (``"box"`` mode), else ``None``.
    condition_reports_ : list of :class:`ConditionReport` of the fitted structures (when targets are set).
    """

    def __init__(self, J=2, L=3, qs=(0.5, 1.0, 2.0, 3.0), sigma=0.5, sigma_w=None, spacing=None, grid="auto",
                 margin=None, channels=("Z",), max_order=2, second_order="same_l", include_order0=True,
                 eps_a=None, eps_o=None, on_violation="raise", batch_size=8, device="auto", dtype="float32",
                 progress=False):
        self.J = J
        self.L = L
        self.qs = qs
        self.sigma = sigma
        self.sigma_w = sigma_w
        self.spacing = spacing
        self.grid = grid
        self.margin = margin
        self.channels = channels
        self.max_order = max_order
        self.second_order = second_order
        self.include_order0 = include_order0
        self.eps_a = eps_a
        self.eps_o = eps_o
        self.on_violation = on_violation
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.progress = progress

    # ---------------------------------------------------------------------------------- validation
    def _validate_params(self):
        js = _as_list(self.J, "J", float, 0.0)
        js = [float(j) for j in range(int(self.J) + 1)] if js is None else js
        if js is not None and isinstance(self.J, (int, np.integer)) and self.J < 0:
            raise ValueError(f"J={self.J} must be >= 0")
        ls = _as_list(self.L, "L", int, 0)
        if ls is None:
            if int(self.L) != self.L or self.L < 0:
                raise ValueError(f"L={self.L!r} must be a non-negative integer or a list of them")
            ls = list(range(int(self.L) + 1))
        qs = _as_list(self.qs, "qs", float)
        if qs is None or not all(0 < q < math.inf for q in qs):  # nan and inf fail too
            raise ValueError(f"qs={self.qs!r} must be a non-empty sequence of positive powers")
        for name in ("sigma",):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise ValueError(f"{name}={v!r} must be a positive length in Å")
        for name in ("sigma_w", "spacing", "margin"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not 0 < v < math.inf):
                raise ValueError(f"{name}={v!r} must be a positive length in Å or None (default)")
        if self.max_order not in (0, 1, 2):
            raise ValueError(f"max_order={self.max_order!r} must be 0, 1 or 2")
        if self.second_order not in ("same_l", "all_l"):
            raise ValueError(f"second_order={self.second_order!r} must be 'same_l' or 'all_l'")
        if self.on_violation not in ("raise", "warn", "rescale"):
            raise ValueError(f"on_violation={self.on_violation!r} must be 'raise', 'warn' or 'rescale'")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={self.dtype!r} must be 'float32' or 'float64'")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size!r} must be a positive integer")
        if isinstance(self.channels, str) or not len(self.channels):
            raise ValueError(f"channels={self.channels!r} must be a non-empty sequence of names, e.g. ('Z',)")
        if not (self.grid in ("auto", "box", "cell") or (isinstance(self.grid, (tuple, list)) and len(self.grid) == 3
                                                          and all(int(n) >= 4 for n in self.grid))):
            raise ValueError(f"grid={self.grid!r} must be 'auto', 'box', 'cell' or a shape (Nx, Ny, Nz), each >= 4")
        if self.max_order == 0 and not self.include_order0:
            raise ValueError("max_order=0 with include_order0=False computes nothing")
        return sorted(set(js)), sorted(set(ls)), qs

    @staticmethod
    def _check_atoms(X):
        try:
            from ase import Atoms
        except ImportError as exc:  # pragma: no cover
            raise ImportError("SolidHarmonicScattering needs ASE: pip install ase") from exc
        if isinstance(X, Atoms):
            raise TypeError("pass a list of ase.Atoms, e.g. [atoms], not a single Atoms object")
        X = list(X)
        if not X:
            raise ValueError("got an empty list of structures")
        for i, a in enumerate(X):
            if not isinstance(a, Atoms):
                raise TypeError(f"structure {i} is a {type(a).__name__}, not an ase.Atoms")
            if len(a) == 0:
                raise ValueError(f"structure {i} has no atoms")
        return check_structures(X, who="SolidHarmonicScattering")  # NaN atoms gave all-NaN features

    def _mode(self, X):
        if isinstance(self.grid, (tuple, list)):
            return "box"
        if self.grid != "auto":
            return self.grid
        return "cell" if all(bool(np.all(a.pbc)) for a in X) else "box"

    @property
    def _sigma_w(self):
        return float(self.sigma if self.sigma_w is None else self.sigma_w)

    @property
    def _spacing(self):
        return float(self.sigma / 1.5 if self.spacing is None else self.spacing)

    @staticmethod
    def _cell_lengths(atoms, i):
        cell = np.asarray(atoms.cell)
        if not np.all(atoms.pbc):
            raise ValueError(f"structure {i} is not periodic in x, y and z (pbc={atoms.pbc}); use grid='box'")
        off = cell - np.diag(np.diag(cell))
        if np.abs(off).max() > 1e-8 * max(np.abs(cell).max(), 1.0) or np.any(np.diag(cell) <= 0):
            raise ValueError(f"structure {i}: only orthorhombic cells aligned with x, y, z are supported "
                             f"(cell=\n{cell}); rotate it with ase.build.niggli_reduce / make_supercell first")
        return tuple(float(d) for d in np.diag(cell))

    # ---------------------------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Check the structures and the parameters; in ``"box"`` mode fix the shared box; learn ``scale_``."""
        js, ls, qs = self._validate_params()
        X = self._check_atoms(X)
        self.mode_ = self._mode(X)
        self.js_, self.ls_, self.qs_ = js, ls, qs
        self.scale_ = 1.0
        step = self._spacing
        if self.eps_a is not None or self.eps_o is not None:
            self.condition_reports_ = [check_conditions(a, self.sigma, step, self.eps_a, self.eps_o) for a in X]
            if self.on_violation == "rescale":
                if self.mode_ != "box":
                    raise ValueError("on_violation='rescale' stretches molecules; periodic cells cannot be "
                                     "rescaled (use grid='box' or on_violation='raise'/'warn')")
                self.scale_ = max(1.0, max(r.rescale for r in self.condition_reports_))
            self._report(self.condition_reports_, rescaled=self.on_violation == "rescale")
        else:
            self.condition_reports_ = None
        s_max = math.sqrt((2 ** max(js) * self._sigma_w) ** 2 + self.sigma ** 2)
        self.margin_ = float(3 * s_max if self.margin is None else self.margin)
        if self.mode_ == "box":
            radius = max(self._radius(a) for a in X) * self.scale_
            if isinstance(self.grid, (tuple, list)):
                self.grid_shape_ = tuple(int(n) for n in self.grid)
                self.box_length_ = tuple(n * step for n in self.grid_shape_)
            else:
                side = 2 * (radius + self.margin_)
                self.grid_shape_ = core.grid_shape_for_lengths((side,) * 3, step)
                self.box_length_ = tuple(n * step for n in self.grid_shape_)
        else:
            self.grid_shape_ = self.box_length_ = None
        channels = tuple(str(c) for c in self.channels)
        atom_channels(X[0], channels)  # fail early on unknown channels
        self.feature_labels_ = GridScattering((4, 4, 4), js=js, ls=ls, qs=qs, max_order=self.max_order,
                                              second_order=self.second_order, include_order0=self.include_order0,
                                              channels=channels).labels
        self.n_features_out_ = len(self.feature_labels_)
        self._engines = {}
        return self

    @staticmethod
    def _radius(atoms):
        p = atoms.get_positions()
        return float(np.linalg.norm(p - p.mean(0), axis=1).max())

    def _report(self, reports, rescaled=False):
        bad = [(i, r) for i, r in enumerate(reports)
               if not r.aliasing_ok or (not r.overlap_ok and not rescaled)]
        if not bad:
            return
        i, r = bad[0]
        msg = (f"{len(bad)} of {len(reports)} structures miss the sampling conditions; first: structure {i} "
               f"({r.n_atoms} atoms, closest pair {r.min_distance:.3g} Å): aliasing precision {r.eps_a:.2g} "
               f"(target {r.eps_a_target}), overlap {r.eps_o:.2g} (target {r.eps_o_target}). Fix: "
               f"sigma >= {r.sigma_needed or r.sigma:.3g} Å at this spacing (or a smaller spacing) for aliasing; "
               f"sigma <= {r.min_distance / math.sqrt(-8 * math.log(r.eps_o_target)) if r.eps_o_target else r.sigma:.3g}"
               f" Å or on_violation='rescale' for overlap")
        if self.on_violation == "warn":
            warnings.warn(msg, SamplingConditionWarning, stacklevel=3)
        else:
            raise ValueError(msg)

    # -------------------------------------------------------------------------------------- transform
    def _placement(self, atoms, i):
        """Grid key ``(shape, lengths)`` and positions (Å) relative to the grid origin."""
        pos = atoms.get_positions() * self.scale_
        if self.mode_ == "cell":
            lengths = self._cell_lengths(atoms, i)
            shape = core.grid_shape_for_lengths(lengths, self._spacing)
            return (shape, lengths), pos
        centre = pos.mean(0)
        if np.linalg.norm(pos - centre, axis=1).max() + self.margin_ > min(self.box_length_) / 2 + 1e-9:
            raise ValueError(f"structure {i} does not fit in the box of {self.box_length_[0]:.3g} Å fixed by fit() "
                             f"(radius {np.linalg.norm(pos - centre, axis=1).max():.3g} Å + margin {self.margin_:.3g}"
                             f" Å); fit on structures including the largest one, or pass a larger grid")
        return (self.grid_shape_, self.box_length_), pos - centre + np.asarray(self.box_length_) / 2

    def _engine(self, key, device, dtype):
        if key not in self._engines:
            if len(self._engines) >= 8:  # periodic cells of many shapes: keep the filter cache bounded
                self._engines.pop(next(iter(self._engines)))
            shape, lengths = key
            self._engines[key] = GridScattering(
                shape, lengths, js=self.js_, ls=self.ls_, qs=self.qs_, sigma_w=self._sigma_w,
                max_order=self.max_order, second_order=self.second_order, include_order0=self.include_order0,
                channels=tuple(str(c) for c in self.channels), device=device, dtype=dtype)
        return self._engines[key]

    def transform(self, X):
        """Coefficients ``(n_structures, n_features)`` (float64 numpy), columns named by
        :meth:`get_feature_names_out`."""
        check_is_fitted(self, "feature_labels_")
        X = self._check_atoms(X)
        if self.condition_reports_ is not None and self.on_violation != "rescale":
            self._report([check_conditions(a, self.sigma, self._spacing, self.eps_a, self.eps_o) for a in X])
        device = pick_device(self.device)
        dtype = torch.float32 if self.dtype == "float32" else torch.float64
        channels = tuple(str(c) for c in self.channels)
        groups: dict = {}
        for i, a in enumerate(X):
            key, pos = self._placement(a, i)
            groups.setdefault(key, []).append((i, pos, atom_channels(a, channels)))
        out = np.empty((len(X), self.n_features_out_))
        batches = [(key, items[k:k + self.batch_size]) for key, items in groups.items()
                   for k in range(0, len(items), self.batch_size)]
        from tqdm.auto import tqdm
        for key, items in tqdm(batches, disable=not self.progress, desc="scattering", leave=False):
            check_memory(grid_bytes(key[0], "complex64" if dtype == torch.float32 else "complex128",
                                    len(items) * len(channels) * (2 * max(self.ls_) + 2)),
                         f"scattering {len(items)} structure(s) on a {'x'.join(map(str, key[0]))} grid",
                         "a larger spacing, a smaller batch_size, fewer channels or a smaller L", device=device)
            engine = self._engine(key, device, dtype)
            n_max = max(len(p) for _, p, _ in items)
            pos = np.zeros((len(items), n_max, 3))
            w = np.zeros((len(items), n_max, len(channels)))
            for b, (_, p, c) in enumerate(items):
                pos[b, :len(p)], w[b, :len(p)] = p, c
            pos_t = torch.as_tensor(pos, dtype=torch.float64, device=device)
            w_t = torch.as_tensor(w, dtype=torch.float64, device=device)
            rho_hat = backend.density_hat(pos_t, w_t, key[0], key[1], float(self.sigma), dtype=dtype)
            coeffs = engine.from_hat(rho_hat).reshape(len(items), -1)
            out[[i for i, _, _ in items]] = coeffs.double().cpu().numpy()
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, e.g. ``order2_Z_l1_j0_l1_j1_q0.5``."""
        check_is_fitted(self, "feature_labels_")
        return np.asarray([lab.name for lab in self.feature_labels_], dtype=object)

    def select(self, order=None, l=None, max_scale=None, q=None, channel=None) -> np.ndarray:
        """Boolean mask over the columns: coefficients of the given order(s), degree(s) ``l`` (any layer),
        power(s) ``q``, channel(s), and with every scale ``j <= max_scale``."""
        check_is_fitted(self, "feature_labels_")

        def ok(v, want):
            return want is None or v in (want if isinstance(want, (list, tuple, set)) else (want,))
        return np.array([ok(lab.order, order) and ok(lab.q, q) and ok(lab.channel, channel)
                         and (l is None or ok(lab.l1, l) or ok(lab.l2, l))
                         and (max_scale is None or lab.max_scale <= max_scale) for lab in self.feature_labels_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


# ------------------------------------------------------------------------------- periodic cells
def check_wavelets_fit_cells(structures, js, sigma_w: float, action: str = "raise") -> float:
    """Check that the widest wavelet, ``2^max(js) sigma_w`` (Å), is at most half the smallest periodic cell.

    "Half the cell" is half the smallest distance between opposite faces over all ``structures``. A wider
    wavelet overlaps its own periodic images: its coefficients then depend on the cell size (they are ~0 in a
    small cell and not in a larger one), which a linear model turns into huge errors. ``action``: ``"raise"``
    (``ValueError``) or ``"warn"`` (``UserWarning``). Returns the largest admissible ``2^j sigma_w`` (Å).
    """
    if action not in ("raise", "warn"):
        raise ValueError(f"action must be 'raise' or 'warn', got {action!r}")
    if sigma_w <= 0 or len(js) == 0:
        raise ValueError("need sigma_w > 0 and at least one j")
    heights = [1.0 / np.linalg.norm(np.linalg.inv(np.asarray(a.cell)).T, axis=1) for a in structures]
    half = 0.5 * float(np.min(heights))
    widest = 2.0 ** max(js) * sigma_w
    if widest > half * (1 + 1e-9):
        j_ok = np.floor(np.log2(half / sigma_w) * 2) / 2
        msg = (f"the widest wavelet, 2^{max(js):g} x {sigma_w:g} = {widest:.2f} Å, is wider than half the smallest "
               f"cell ({half:.2f} Å): keep j <= {j_ok:g} or lower sigma_w")
        if action == "raise":
            raise ValueError(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return half


def coefficient_scales(labels, sigma_w: float) -> np.ndarray:
    """Largest wavelet width ``2^j sigma_w`` (Å) of each scattering coefficient label (``nan`` for order 0)."""
    return np.array([np.nan if lab.order == 0 else 2.0 ** lab.max_scale * sigma_w for lab in labels])
