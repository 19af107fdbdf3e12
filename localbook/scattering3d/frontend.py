"""Front end: ``ase.Atoms`` in, labelled scattering coefficients out (a scikit-learn transformer).

Validates the parameters once (``_parameter_constraints``), places structures on grids (a box with a margin for
molecules, the cell itself for periodic orthorhombic crystals, :mod:`.cells`), checks the thesis' sampling
conditions (:mod:`.sampling`), weights atoms by channel (:mod:`.channels`), batches structures that share a grid
and hands their densities in Fourier space to :class:`.grid.GridScattering`. No mathematics here.
"""
from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from localbook.checks import check_memory, check_structures, grid_bytes
from localbook.device import pick_device
from localbook.scattering3d import backend
from localbook.scattering3d.cells import orthorhombic_lengths
from localbook.scattering3d.channels import atom_channels
from localbook.scattering3d.grid import RESOLUTIONS, GridScattering
from localbook.scattering3d.labels import coefficient_labels
from localbook.scattering3d.sampling import SamplingConditionWarning, check_conditions, grid_shape_for_lengths

__all__ = ["SolidHarmonicScattering", "principal_frame"]

_POSITIVE = Interval(Real, 0, None, closed="neither")
_PRECISION = Interval(Real, 0, 1, closed="neither")


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
    grid : "auto", "box", "molecule", "cell" or (Nx, Ny, Nz)
        ``"box"``: molecules, centred in one cubic box shared by every structure (set in ``fit`` from the
        largest structure plus ``margin``); ``"molecule"``: each molecule centred in its own cubic box, the
        smallest that holds it and its margin at step ``spacing``: cheaper for small molecules, and equal to the
        shared box only when the margin keeps the periodic images of every ``U`` apart, which ``q = 1/2`` (the
        widest tails, ``sqrt U``) needs most -- ``benchmarks/bench_qm9_scattering.py`` prints the difference;
        ``"cell"``: periodic orthorhombic cells, each sampled with
        2-3-5-smooth sizes whose steps are as equal as possible and ``<= spacing``; a tuple: a box of this
        shape with step ``spacing``; ``"auto"``: ``"cell"`` when every structure is periodic, else ``"box"``.
    margin : float or None
        Empty space around molecules in the box, Å; default ``3 * sqrt((2^j_max sigma_w)^2 + sigma^2)``.
    orientation : "as_given" or "principal"
        ``"principal"`` (molecules only) turns each molecule into the frame of its principal axes of inertia
        (mass-weighted, about its centre of mass; a proper rotation) before placing it on the grid. The
        coefficients of the continuous transform are invariant to rotations; on a grid they are not (sampling
        errors), and this frame makes the sampled coefficients of a turned molecule equal to those of the original up
        to rounding: a turned molecule has the same frame, up to the signs and the order of the axes, which are exact
        symmetries of a cubic grid centred on the molecule and of the ``|.|``-over-``m`` modulus. Where two moments
        of inertia are (nearly) equal -- symmetric tops such as methane or benzene -- the frame within their plane
        is arbitrary, and the sampling errors of an arbitrary rotation in that plane remain. Not in the thesis,
        which relies on fine sampling alone (written here: no library offers it for grid scattering).
    channels : sequence of str
        Weights ``c_i``: ``"Z"``, ``"valence"``, ``"core"``, ``"ones"`` or keys of ``atoms.arrays``
        (:data:`localbook.scattering3d.channels.CHANNELS`).
    max_order : 0, 1 or 2.
    second_order : ``"same_l"`` (l2 = l1, as kymatio and thesis section 2.6.1) or ``"all_l"``.
    include_order0 : bool
        Add ``int rho^q`` (kymatio has no order 0).
    eps_a, eps_o : float or None
        Targets of the aliasing and overlap conditions; ``None`` skips the check.
    on_violation : "raise", "warn" or "rescale"
        What to do with structures that miss a target: raise, warn (:class:`SamplingConditionWarning`), or
        (overlap only, ``grid="box"`` or ``"molecule"``) multiply every position by the factor ``scale_`` learned in
        ``fit`` so that the closest pair seen in ``fit`` meets ``eps_o`` (the thesis' QM9 protocol).
    resolution : "exact" or "multi"
        ``"exact"``: every ``U`` on the structure's grid (kymatio's numbers to rounding); ``"multi"``: each scale
        on the coarsest grid its wavelet's band allows at the aliasing precision ``scale_eps`` (faster; error
        measured by ``benchmarks/bench_scattering3d.py``).
    scale_eps, oversampling : float
        Aliasing precision of the scale grids of the ``"multi"`` resolution, and how many times finer than their
        band's minimum they are (see :class:`~localbook.scattering3d.grid.GridScattering`).
    batch_size : int
        Structures per batch (memory: about ``batch_size * C * N^3 * 8`` bytes for the densities, plus one
        density's ``(2 l_max + 1) * N^3 * 8`` bytes of working space on the CPU).
    device : "auto", "cpu", "cuda", ...
    dtype : "float32" or "float64".
    progress : bool
        Show a ``tqdm`` bar over batches.

    Attributes (after ``fit``)
    --------------------------
    feature_labels_ : list of :class:`~localbook.scattering3d.labels.CoefficientLabel`, one per output column.
    js_, ls_, qs_ : the scales, degrees and powers in use; ``spacing_`` the grid step bound (Å).
    scale_ : float, factor applied to positions (1 unless rescaling).
    grid_shape_, box_length_ : the shared box (``"box"`` mode), else ``None``.
    mode_ : ``"box"``, ``"molecule"`` or ``"cell"``.
    condition_reports_ : list of :class:`~localbook.scattering3d.sampling.ConditionReport` of the fitted
        structures (when targets are set).
    """

    _parameter_constraints = {
        "J": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "L": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "qs": ["array-like"],
        "sigma": [_POSITIVE],
        "sigma_w": [_POSITIVE, None],
        "spacing": [_POSITIVE, None],
        "grid": [StrOptions({"auto", "box", "molecule", "cell"}), "array-like"],
        "margin": [Interval(Real, 0, None, closed="left"), None],
        "orientation": [StrOptions({"as_given", "principal"})],
        "channels": ["array-like"],
        "max_order": [Interval(Integral, 0, 2, closed="both")],
        "second_order": [StrOptions({"same_l", "all_l"})],
        "include_order0": ["boolean"],
        "eps_a": [_PRECISION, None],
        "eps_o": [_PRECISION, None],
        "on_violation": [StrOptions({"raise", "warn", "rescale"})],
        "resolution": [StrOptions(set(RESOLUTIONS))],
        "scale_eps": [_PRECISION],
        "oversampling": [Interval(Real, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "dtype": [StrOptions({"float32", "float64"})],
        "progress": ["boolean"],
    }

    def __init__(self, J=2, L=3, qs=(0.5, 1.0, 2.0, 3.0), sigma=0.5, sigma_w=None, spacing=None, grid="auto",
                 margin=None, orientation="as_given", channels=("Z",), max_order=2, second_order="same_l",
                 include_order0=True, eps_a=None, eps_o=None, on_violation="raise", resolution="exact",
                 scale_eps=1e-4, oversampling=2.0, batch_size=8, device="auto", dtype="float32", progress=False):
        self.J = J
        self.L = L
        self.qs = qs
        self.sigma = sigma
        self.sigma_w = sigma_w
        self.spacing = spacing
        self.grid = grid
        self.margin = margin
        self.orientation = orientation
        self.channels = channels
        self.max_order = max_order
        self.second_order = second_order
        self.include_order0 = include_order0
        self.eps_a = eps_a
        self.eps_o = eps_o
        self.on_violation = on_violation
        self.resolution = resolution
        self.scale_eps = scale_eps
        self.oversampling = oversampling
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.progress = progress

    # ---------------------------------------------------------------------------------- validation
    def _index_values(self):
        """``(js, ls, qs)`` from ``J``, ``L``, ``qs``, and the checks the constraints cannot express."""
        if isinstance(self.J, (Integral, np.integer)):
            js = [float(j) for j in range(int(self.J) + 1)]
        else:
            js = _numbers(self.J, "J", float)
            if min(js) < 0:
                raise ValueError(f"J={self.J!r}: scales j must be >= 0")
        if isinstance(self.L, (Integral, np.integer)):
            ls = list(range(int(self.L) + 1))
        else:
            ls = _numbers(self.L, "L", float)
            if any(l != int(l) or l < 0 for l in ls):
                raise ValueError(f"L={self.L!r}: degrees l must be non-negative integers")
            ls = [int(l) for l in ls]
        qs = _numbers(self.qs, "qs", float)
        if not all(0 < q < math.inf for q in qs):  # nan and inf fail too
            raise ValueError(f"qs={self.qs!r} must be positive finite powers, e.g. (0.5, 1, 2)")
        for name in ("sigma", "sigma_w", "spacing", "margin"):  # the constraints let inf through
            v = getattr(self, name)
            if v is not None and not (0 <= v < math.inf and (name == "margin" or v > 0)):
                raise ValueError(f"{name}={v!r} must be a positive finite length in Å" +
                                 ("" if name == "sigma" else " or None (default)"))
        if isinstance(self.grid, (tuple, list, np.ndarray)) and not (
                len(self.grid) == 3 and all(int(n) == n and n >= 4 for n in self.grid)):
            raise ValueError(f"grid={self.grid!r} must be 'auto', 'box', 'cell' or a shape (Nx, Ny, Nz), each >= 4")
        if isinstance(self.channels, str) or not len(self.channels):
            raise ValueError(f"channels={self.channels!r} must be a non-empty sequence of names, e.g. ('Z',)")
        if self.max_order == 0 and not self.include_order0:
            raise ValueError("max_order=0 with include_order0=False computes nothing: raise max_order or "
                             "set include_order0=True")
        return sorted(set(js)), sorted(set(ls)), qs

    @staticmethod
    def _check_atoms(X):
        from ase import Atoms
        if isinstance(X, Atoms):
            raise TypeError("pass a list of ase.Atoms, e.g. [atoms], not a single Atoms object")
        X = list(X)
        if not X:
            raise ValueError("got an empty list of structures")
        for i, a in enumerate(X):
            if not isinstance(a, Atoms):
                raise TypeError(f"structure {i} is a {type(a).__name__}, not an ase.Atoms: pass a list of "
                                f"ase.Atoms (molecules or periodic cells)")
            if len(a) == 0:
                raise ValueError(f"structure {i} has no atoms")
        return check_structures(X, who="SolidHarmonicScattering")  # NaN atoms gave all-NaN features

    def _mode(self, X):
        if not isinstance(self.grid, str):
            return "box"
        if self.grid != "auto":
            return self.grid
        return "cell" if all(bool(np.all(a.pbc)) for a in X) else "box"

    # ---------------------------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the structures and the parameters; in ``"box"`` mode fix the shared box; learn ``scale_``."""
        js, ls, qs = self._index_values()
        X = self._check_atoms(X)
        self.mode_ = self._mode(X)
        if self.orientation == "principal" and self.mode_ == "cell":
            raise ValueError("orientation='principal' turns molecules; a periodic cell cannot be turned into another "
                             "frame on its own lattice (use orientation='as_given' for cells)")
        self.js_, self.ls_, self.qs_ = js, ls, qs
        self.sigma_w_ = float(self.sigma if self.sigma_w is None else self.sigma_w)
        self.spacing_ = float(self.sigma / 1.5 if self.spacing is None else self.spacing)
        self.scale_ = 1.0
        if self.eps_a is not None or self.eps_o is not None:
            self.condition_reports_ = [check_conditions(a, self.sigma, self.spacing_, self.eps_a, self.eps_o)
                                       for a in X]
            if self.on_violation == "rescale":
                if self.mode_ == "cell":
                    raise ValueError("on_violation='rescale' stretches molecules; periodic cells cannot be "
                                     "rescaled (use grid='box' or on_violation='raise'/'warn')")
                self.scale_ = max(1.0, max(r.rescale for r in self.condition_reports_))
            self._report(self.condition_reports_, rescaled=self.on_violation == "rescale")
        else:
            self.condition_reports_ = None
        s_max = math.sqrt((2 ** max(js) * self.sigma_w_) ** 2 + self.sigma ** 2)
        self.margin_ = float(3 * s_max if self.margin is None else self.margin)
        if self.mode_ == "box":
            if isinstance(self.grid, str):
                radius = max(_radius(a) for a in X) * self.scale_
                side = 2 * (radius + self.margin_)
                self.grid_shape_ = grid_shape_for_lengths((side,) * 3, self.spacing_)
            else:
                self.grid_shape_ = tuple(int(n) for n in self.grid)
            self.box_length_ = tuple(n * self.spacing_ for n in self.grid_shape_)
        else:
            self.grid_shape_ = self.box_length_ = None
            if self.mode_ == "cell":
                for i, a in enumerate(X):
                    orthorhombic_lengths(a, i)
        channels = tuple(str(c) for c in self.channels)
        atom_channels(X[0], channels)  # fail early on unknown channels
        self.feature_labels_ = coefficient_labels(js, ls, qs, channels, self.max_order, self.second_order,
                                                  self.include_order0)
        self.n_features_out_ = len(self.feature_labels_)
        self._engines = {}
        return self

    def _report(self, reports, rescaled=False):
        bad = [(i, r) for i, r in enumerate(reports)
               if not r.aliasing_ok or (not r.overlap_ok and not rescaled)]
        if not bad:
            return
        i, r = bad[0]
        sigma_max = r.min_distance / math.sqrt(-8 * math.log(r.eps_o_target)) if r.eps_o_target else r.sigma
        msg = (f"{len(bad)} of {len(reports)} structures miss the sampling conditions; first: structure {i} "
               f"({r.n_atoms} atoms, closest pair {r.min_distance:.3g} Å): aliasing precision {r.eps_a:.2g} "
               f"(target {r.eps_a_target}), overlap {r.eps_o:.2g} (target {r.eps_o_target}). Fix: "
               f"sigma >= {r.sigma_needed or r.sigma:.3g} Å at this spacing (or a smaller spacing) for aliasing; "
               f"sigma <= {sigma_max:.3g} Å or on_violation='rescale' for overlap")
        if self.on_violation == "warn":
            warnings.warn(msg, SamplingConditionWarning, stacklevel=3)
        else:
            raise ValueError(msg)

    # -------------------------------------------------------------------------------------- transform
    def _placement(self, atoms, i):
        """Grid key ``(shape, lengths)`` and positions (Å) relative to the grid origin."""
        pos = atoms.get_positions() * self.scale_
        if self.orientation == "principal":
            pos = principal_frame(pos, atoms.get_masses())
        if self.mode_ == "cell":
            lengths = orthorhombic_lengths(atoms, i)
            return (grid_shape_for_lengths(lengths, self.spacing_), lengths), pos
        centre = pos.mean(0)
        radius = np.linalg.norm(pos - centre, axis=1).max()
        if self.mode_ == "molecule":
            shape = grid_shape_for_lengths((2 * (radius + self.margin_),) * 3, self.spacing_)
            lengths = tuple(n * self.spacing_ for n in shape)
            return (shape, lengths), pos - centre + np.asarray(lengths) / 2
        if radius + self.margin_ > min(self.box_length_) / 2 + 1e-9:
            raise ValueError(f"structure {i} does not fit in the box of {self.box_length_[0]:.3g} Å fixed by fit() "
                             f"(radius {radius:.3g} Å + margin {self.margin_:.3g} Å); fit on structures including "
                             f"the largest one, or pass a larger grid")
        return (self.grid_shape_, self.box_length_), pos - centre + np.asarray(self.box_length_) / 2

    def _engine(self, key, device, dtype):
        if key not in self._engines:
            if len(self._engines) >= 16:  # cells or molecule boxes of many shapes: keep the filter banks bounded
                self._engines.pop(next(iter(self._engines)))
            shape, lengths = key
            self._engines[key] = GridScattering(
                shape, lengths, js=self.js_, ls=self.ls_, qs=self.qs_, sigma_w=self.sigma_w_,
                max_order=self.max_order, second_order=self.second_order, include_order0=self.include_order0,
                channels=tuple(str(c) for c in self.channels), resolution=self.resolution,
                scale_eps=self.scale_eps, oversampling=self.oversampling, device=device, dtype=dtype)
        return self._engines[key]

    def transform(self, X):
        """Coefficients ``(n_structures, n_features)`` (float64 numpy), columns named by
        :meth:`get_feature_names_out`."""
        check_is_fitted(self, "feature_labels_")
        X = self._check_atoms(X)
        if self.condition_reports_ is not None and self.on_violation != "rescale":
            self._report([check_conditions(a, self.sigma, self.spacing_, self.eps_a, self.eps_o) for a in X])
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
        tags.input_tags.two_d_array = False  # lists of ase.Atoms
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags


def _numbers(values, name, kind) -> list:
    try:
        out = [kind(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {values!r}") from None
    if not out:
        raise ValueError(f"{name}={values!r}: needs at least one value")
    return out


def principal_frame(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """``positions`` (n, 3) turned about their centre of mass into the frame of their principal axes of inertia
    (ordered from the smallest mass-weighted spread to the largest; a proper rotation), centred on the centre of
    mass."""
    positions = np.asarray(positions, dtype=float)
    masses = np.asarray(masses, dtype=float)
    x = positions - (masses[:, None] * positions).sum(0) / masses.sum()
    # the inertia tensor and the mass-weighted second moment sum_i m_i x_i x_i^T share their eigenvectors
    _, axes = np.linalg.eigh((masses[:, None, None] * x[:, :, None] * x[:, None, :]).sum(0))
    if np.linalg.det(axes) < 0:
        axes[:, 0] = -axes[:, 0]
    return x @ axes


def _radius(atoms) -> float:
    p = atoms.get_positions()
    return float(np.linalg.norm(p - p.mean(0), axis=1).max())
