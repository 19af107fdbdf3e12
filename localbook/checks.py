"""Input checks at the public boundary: structures, images, memory, papermill names.

A bad input must stop with an error that names the structure or image and the fix, never turn into a plausible
number (EAM gave -58 eV for a NaN atom, MBD 0.0 eV for coincident atoms), a crash (dscribe's SOAP segfaults on a
NaN position and takes the kernel with it) or an out-of-memory kill. Entry points call these first:

* :func:`check_structures` -- a non-empty list of ``ase.Atoms``, each with atoms, finite positions, known elements,
  a finite cell that is non-degenerate along its periodic directions, and no two atoms (or periodic images)
  closer than ``min_distance_angstrom``; raises :class:`StructureError` naming the structure (index, formula)
  and the atoms.
* :func:`check_images` -- a non-empty ``(B, C, H, W)`` batch (tensor or array) of finite floating-point values in
  [0, 1]; raises :class:`ImageError` that says how to convert (``x.float() / 255`` for 8-bit images...).
* :func:`check_memory` with :func:`grid_bytes` and :func:`dense_hessian_bytes` -- refuses an allocation larger than
  a limit (default: half of the machine's memory, or of the GPU's; ``LOCALBOOK_MEMORY_LIMIT_GB`` or
  ``limit_gb=`` overrides it) with :class:`MemoryLimitError` stating the estimate and the knobs that shrink it.
* :func:`check_injected_names` -- a papermill ``-p name value`` whose name the chapter then rebinds (``-p plt 3``
  where the chapter imports ``matplotlib.pyplot as plt``) is refused instead of being silently ignored.

Written by hand: these are the preconditions of localbook's own functions; the pair search uses
``scipy.spatial.cKDTree`` (molecules) and ``ase.neighborlist.neighbor_list`` (periodic cells).
"""
from __future__ import annotations

import ast
import math
import os
from typing import Any
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["StructureError", "ImageError", "MemoryLimitError", "InjectedParameterError", "check_structures",
           "check_images", "check_memory", "check_number", "grid_bytes", "dense_hessian_bytes", "memory_limit_bytes",
           "check_injected_names", "MEMORY_ENV"]

MEMORY_ENV = "LOCALBOOK_MEMORY_LIMIT_GB"
_MAX_Z = 118


class StructureError(ValueError):
    """A structure cannot be computed on; the message names it and what to do."""


class ImageError(ValueError):
    """An image batch is not finite floating-point values in [0, 1], or is empty or of the wrong shape."""


class MemoryLimitError(MemoryError):
    """An allocation would exceed the memory limit; the message gives the estimate and the knobs."""


class InjectedParameterError(ValueError):
    """A papermill parameter was injected under a name the notebook then rebinds, or that it does not take."""


# ----------------------------------------------------------------------------------------------------------------
# structures


def _label(i: int, atoms) -> str:
    try:
        formula = atoms.get_chemical_formula()
    except Exception:  # noqa: BLE001 - a label must never fail
        formula = "?"
    return f"structure {i} ({formula}, {len(atoms)} atoms)"


def _close_pairs(structures, min_distance: float):
    """``(k, i, j, d)`` for the first structure ``k`` that has atoms ``i``, ``j`` (or an atom and a periodic image
    of ``j``) closer than ``min_distance`` Å, or None.

    One ``cKDTree`` over every structure at once: structure ``k`` is shifted by ``k`` times more than the largest
    extent, so only pairs within a structure can be closer than ``min_distance``. Periodic neighbours are found
    by adding the images of the atoms lying within ``min_distance`` of a face (any pair across a face has one).
    """
    from scipy.spatial import cKDTree

    sizes = np.array([len(a) for a in structures])
    periodic = [k for k, a in enumerate(structures) if a.pbc.any()]
    if not periodic:  # molecules: the positions as they are
        points = [np.concatenate([a.positions for a in structures])]
        owner = [np.repeat(np.arange(len(structures)), sizes)]
        atom = [np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)]
    else:
        points, owner, atom = [], [], []
    for k, atoms in enumerate(structures if periodic else ()):
        pos = atoms.positions
        index = np.arange(len(pos))
        pbc = np.asarray(atoms.pbc, bool)
        if pbc.any():
            cell = np.asarray(atoms.cell.complete())  # unit vectors fill the non-periodic directions
            frac = np.linalg.solve(cell.T, pos.T).T
            frac[:, pbc] %= 1.0
            pos = frac @ cell
            reciprocal = np.linalg.inv(cell).T  # rows: reciprocal vectors; 1/|b_d| = height along d
            margin = min_distance * np.linalg.norm(reciprocal, axis=1)
            near = np.zeros(len(pos), bool)
            for d in np.flatnonzero(pbc):
                near |= (frac[:, d] < margin[d]) | (frac[:, d] > 1 - margin[d])
            if near.any():
                shifts = np.array(np.meshgrid(*[[-1, 0, 1] if p else [0] for p in pbc], indexing="ij")).reshape(3, -1).T
                shifts = shifts[np.any(shifts != 0, axis=1)]
                images = (pos[near][None, :, :] + (shifts @ cell)[:, None, :]).reshape(-1, 3)
                pos = np.concatenate([pos, images])
                index = np.concatenate([index, np.tile(np.flatnonzero(near), len(shifts))])
        points.append(pos)
        owner.append(np.full(len(pos), k))
        atom.append(index)
    points = np.concatenate(points)
    owner, atom = np.concatenate(owner), np.concatenate(atom)
    extent = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
    step = 2 * extent + 10 * min_distance + 1.0
    shifted = points.copy()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(owner)) + 1])
    lows = np.minimum.reduceat(points[:, 0], starts)
    shifted[:, 0] += (owner * step) - lows[np.searchsorted(starts, np.arange(len(points)), side="right") - 1]
    pairs = cKDTree(shifted).query_pairs(min_distance, output_type="ndarray")
    if not len(pairs):
        return None
    pairs = pairs[owner[pairs[:, 0]] == owner[pairs[:, 1]]]
    if not len(pairs):  # pragma: no cover - the shift keeps structures apart
        return None
    first = pairs[np.argmin(owner[pairs[:, 0]])]
    k = int(owner[first[0]])
    mine = pairs[owner[pairs[:, 0]] == k]
    d = np.linalg.norm(points[mine[:, 0]] - points[mine[:, 1]], axis=1)
    a, b = sorted((int(atom[mine[np.argmin(d)][0]]), int(atom[mine[np.argmin(d)][1]])))
    return k, a, b, float(d.min())


def check_structures(structures, *, who: str = "", elements: Iterable[int | str] | None = None,
                     min_distance_angstrom: float = 0.1, require_cell: bool = False,
                     allow_empty: bool = False) -> list:
    """Check a list of ``ase.Atoms`` before computing on it; return it as a list.

    Parameters
    ----------
    structures : a list (or other iterable) of ``ase.Atoms``. A single ``Atoms`` is refused: pass ``[atoms]``.
    who : the caller, for the message (``"EAM.energy"``).
    elements : the atomic numbers or symbols the caller supports (default: any of 1..118).
    min_distance_angstrom : two atoms (or an atom and a periodic image) closer than this are an error: coincident
        atoms give infinite or zero energies. 0 skips the pair search.
    require_cell : the caller needs a non-degenerate cell in all three directions even where ``pbc`` is False
        (e.g. a grid spanning the cell).
    allow_empty : accept an empty list.

    Raises
    ------
    TypeError for something that is not a list of ``ase.Atoms``; :class:`StructureError` naming the structure
    (index, formula), the atoms involved and the fix, for: no atoms, a NaN or infinite position, an unknown
    element, a NaN, infinite or degenerate cell along a periodic direction (or one thinner than
    ``min_distance_angstrom``), atoms closer than ``min_distance_angstrom``. Cost: about 10 µs per structure
    plus one KD-tree over all atoms (130,831 QM9 molecules: ~2 s).
    """
    from ase import Atoms
    from ase.data import atomic_numbers

    prefix = f"{who}: " if who else ""
    if isinstance(structures, Atoms):
        raise TypeError(f"{prefix}expected a list of ase.Atoms, got one ase.Atoms "
                        f"({structures.get_chemical_formula()}); pass [atoms]")
    if isinstance(structures, (str, bytes)) or not hasattr(structures, "__iter__"):
        raise TypeError(f"{prefix}expected a list of ase.Atoms, got {type(structures).__name__}")
    structures = list(structures)
    if not structures and not allow_empty:
        raise StructureError(f"{prefix}no structure was given (an empty list); pass at least one ase.Atoms")
    allowed = None
    if elements is not None:
        allowed = sorted({atomic_numbers[e] if isinstance(e, str) else int(e) for e in elements})
    for i, atoms in enumerate(structures):
        if not isinstance(atoms, Atoms):
            raise TypeError(f"{prefix}item {i} is a {type(atoms).__name__}, not an ase.Atoms; pass a list of "
                            "ase.Atoms (read files with ase.io.read(path, index=':'))")
        if len(atoms) == 0:
            raise StructureError(f"{prefix}{_label(i, atoms)} has no atom; drop it")
    if not structures:
        return structures
    sizes = np.array([len(a) for a in structures])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    pos = np.concatenate([a.positions for a in structures])
    numbers = np.concatenate([a.numbers for a in structures])

    def owner_of(atom_index):
        k = int(np.searchsorted(offsets, atom_index, side="right") - 1)
        return k, int(atom_index - offsets[k])

    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        k, a = owner_of(np.flatnonzero(bad)[0])
        n_bad = int(bad[offsets[k]:offsets[k + 1]].sum())
        raise StructureError(f"{prefix}{_label(k, structures[k])}: atom {a} has a non-finite position "
                             f"{structures[k].positions[a].tolist()} ({n_bad} such atoms in it); fix or drop the "
                             "structure")
    unknown = (numbers < 1) | (numbers > _MAX_Z) if allowed is None else ~np.isin(numbers, allowed)
    if unknown.any():
        k, a = owner_of(np.flatnonzero(unknown)[0])
        what = "is not an element (1 to 118)" if allowed is None else f"is not supported here (supported: {allowed})"
        raise StructureError(f"{prefix}{_label(k, structures[k])}: atom {a} has atomic number "
                             f"{int(structures[k].numbers[a])}, which {what}")
    for i, atoms in enumerate(structures):
        pbc = np.asarray(atoms.pbc, bool)
        needs = np.ones(3, bool) if require_cell else pbc
        if not needs.any():
            continue
        cell = np.asarray(atoms.cell)
        label = _label(i, atoms)
        if not np.isfinite(cell).all():
            raise StructureError(f"{prefix}{label}: the cell {cell.tolist()} is not finite; set a finite cell")
        vectors = cell[needs]
        lengths = np.linalg.norm(vectors, axis=1)
        rank = np.linalg.matrix_rank(vectors, tol=1e-6 * max(lengths.max(), 1.0))
        if (lengths < 1e-6).any() or rank < len(vectors):
            why = "periodic directions" if not require_cell else "directions (this computation needs a cell)"
            raise StructureError(f"{prefix}{label}: the cell vectors along its {why} "
                                 f"{np.flatnonzero(needs).tolist()} are zero or linearly dependent "
                                 f"(cell {np.round(cell, 6).tolist()}, pbc {pbc.tolist()}); set a proper "
                                 "cell with atoms.set_cell(...), or atoms.pbc = False for a molecule")
        if min_distance_angstrom > 0 and pbc.any():
            heights = 1.0 / np.linalg.norm(np.linalg.inv(np.asarray(atoms.cell.complete())).T, axis=1)
            thin = np.flatnonzero(pbc & (heights < min_distance_angstrom))
            if len(thin):
                raise StructureError(f"{prefix}{label}: the cell is {heights[thin[0]]:.3g} Å thick along periodic "
                                     f"direction {int(thin[0])}, less than {min_distance_angstrom} Å: each atom "
                                     "nearly coincides with its own periodic image; set a proper cell")
    if min_distance_angstrom > 0:
        pair = _close_pairs(structures, min_distance_angstrom)
        if pair is not None:
            k, a, b, d = pair
            which = f"atoms {a} and {b} are" if a != b else f"atom {a} and its periodic image are"
            raise StructureError(f"{prefix}{_label(k, structures[k])}: {which} {d:.3g} Å apart (minimum "
                                 f"{min_distance_angstrom} Å): coincident atoms; remove the duplicate "
                                 "(e.g. ase.geometry.get_duplicate_atoms(atoms, delete=True))")
    return structures


# ----------------------------------------------------------------------------------------------------------------
# images


def check_images(x, *, who: str = "", channels: int | Sequence[int] | None = None, min_size: int = 1,
                 batched: bool = True, tolerance: float = 1e-6):
    """Check an image batch before encoding it; return it unchanged.

    ``x``: a torch tensor or NumPy array ``(B, C, H, W)`` (``(C, H, W)`` with ``batched=False``) of finite
    floating-point values in [0, 1] (``tolerance`` allows rounding); ``channels``: the channel count(s) the
    caller accepts; ``min_size``: the smallest height and width. Raises :class:`ImageError` naming the problem
    (and the first offending image) and the conversion that fixes it.
    """
    prefix = f"{who}: " if who else ""
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        shape, is_float = tuple(x.shape), x.is_floating_point()
        dtype = str(x.dtype).removeprefix("torch.")
    elif isinstance(x, np.ndarray):
        shape, is_float, dtype = x.shape, np.issubdtype(x.dtype, np.floating), str(x.dtype)
    else:
        raise ImageError(f"{prefix}expected a torch tensor or NumPy array of images, got {type(x).__name__}; "
                         "convert with torch.as_tensor(np.asarray(images), dtype=torch.float32)")
    want = 4 if batched else 3
    layout = "(B, C, H, W)" if batched else "(C, H, W)"
    if len(shape) != want:
        hint = " (one image: add a batch axis with x[None])" if batched and len(shape) == 3 else ""
        raise ImageError(f"{prefix}expected images {layout}, got shape {shape}{hint}")
    if batched and shape[0] == 0:
        raise ImageError(f"{prefix}the batch is empty (shape {shape}); pass at least one image")
    if shape[-1] < min_size or shape[-2] < min_size:
        raise ImageError(f"{prefix}images of {shape[-2]} x {shape[-1]} pixels are smaller than {min_size} x {min_size}")
    c = shape[-3]
    if channels is not None:
        allowed = (channels,) if isinstance(channels, int) else tuple(channels)
        if c not in allowed:
            raise ImageError(f"{prefix}images have {c} channels, expected {' or '.join(map(str, allowed))} "
                             f"(layout {layout}; an (H, W, C) image needs x.permute(2, 0, 1))")
    if not is_float:
        scale = {"uint8": "255", "uint16": "65535", "int16": "32767"}.get(dtype, "its maximum")
        raise ImageError(f"{prefix}images have dtype {dtype}; expected floating-point values in [0, 1]: convert with "
                         f"x.float() / {scale} (NumPy: x.astype(np.float32) / {scale})")
    values = x.detach() if torch is not None and isinstance(x, torch.Tensor) else x
    flat = values.reshape(shape[0], -1) if batched else values.reshape(1, -1)
    if torch is not None and isinstance(values, torch.Tensor):
        finite = torch.isfinite(flat).all(dim=1).cpu().numpy()
        lo = float(flat.amin()) if finite.all() else math.nan
        hi = float(flat.amax()) if finite.all() else math.nan
    else:
        finite = np.isfinite(flat).all(axis=1)
        lo = float(flat.min()) if finite.all() else math.nan
        hi = float(flat.max()) if finite.all() else math.nan
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        raise ImageError(f"{prefix}image {k} has NaN or infinite values ({int((~finite).sum())} such images); "
                         "fix or drop them")
    if lo < -tolerance or hi > 1 + tolerance:
        if lo >= -tolerance and hi <= 255 + tolerance:
            hint = "8-bit values (0-255): divide by 255"
        elif lo >= -tolerance and hi <= 65535 + tolerance:
            hint = "16-bit values (0-65535): divide by 65535"
        elif lo >= -1 - tolerance and hi <= 1 + tolerance:
            hint = "values in [-1, 1]: map with (x + 1) / 2"
        else:
            hint = "normalised values: undo the normalisation, or rescale with (x - x.min()) / (x.max() - x.min())"
        raise ImageError(f"{prefix}image values span [{lo:.4g}, {hi:.4g}], expected [0, 1]; these look like {hint}")
    return x


def _torch():
    import sys

    return sys.modules.get("torch")


# ----------------------------------------------------------------------------------------------------------------
# memory


def grid_bytes(shape: Sequence[int], dtype="float64", n_arrays: float = 1.0) -> int:
    """Bytes of ``n_arrays`` arrays of ``shape`` and ``dtype`` (a NumPy or torch dtype, or its name)."""
    name = str(dtype).removeprefix("torch.")
    itemsize = np.dtype(name).itemsize if name != "bfloat16" else 2
    return int(math.prod(int(s) for s in shape) * itemsize * n_arrays)


def dense_hessian_bytes(n_atoms: int, dtype="float64", workspace: float = 3.0) -> int:
    """Bytes to build and diagonalise a dense ``3N x 3N`` Hessian: the matrix plus ``workspace - 1`` copies
    (eigenvectors and LAPACK's workspace in ``eigh``)."""
    return grid_bytes((3 * n_atoms, 3 * n_atoms), dtype, workspace)


def memory_limit_bytes(device="cpu", limit_gb: float | None = None) -> int:
    """The largest allocation :func:`check_memory` allows: ``limit_gb``, else ``$LOCALBOOK_MEMORY_LIMIT_GB``, else
    half of the GPU's memory (``device`` CUDA) or of the machine's physical memory."""
    if limit_gb is None and os.environ.get(MEMORY_ENV, "").strip():
        raw = os.environ[MEMORY_ENV]
        try:
            limit_gb = float(raw)
        except ValueError:
            raise ValueError(f"{MEMORY_ENV}={raw!r} is not a number of GB (e.g. {MEMORY_ENV}=16)") from None
    if limit_gb is not None:
        if not (isinstance(limit_gb, (int, float)) and math.isfinite(limit_gb) and limit_gb > 0):
            raise ValueError(f"memory limit {limit_gb!r} GB must be a positive number")
        return int(limit_gb * 2 ** 30)
    torch = _torch()
    if torch is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory // 2)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 16 GiB, so an 8 GiB limit
        total = 16 * 2 ** 30
    return int(total // 2)


def check_memory(n_bytes: float, what: str, knobs: str, *, device="cpu", limit_gb: float | None = None) -> None:
    """Raise :class:`MemoryLimitError` when ``n_bytes`` exceeds :func:`memory_limit_bytes`.

    ``what``: the allocation (``"the density grid of 1,000 atoms over 60 Å: 512^3 x 8 channels"``); ``knobs``: the
    parameters that shrink it (``"a larger spacing, fewer channels, a smaller batch_size"``). The message also
    says how to raise the limit."""
    limit = memory_limit_bytes(device, limit_gb)
    if n_bytes > limit:
        if limit_gb is not None:
            source = "limit_gb"
        elif os.environ.get(MEMORY_ENV, "").strip():
            source = "$" + MEMORY_ENV
        else:
            source = f"half of the memory of {device}"
        raise MemoryLimitError(
            f"{what} needs about {n_bytes / 2 ** 30:.3g} GB, above the limit of {limit / 2 ** 30:.3g} GB ({source}). "
            f"Reduce it with {knobs}; or, if the machine has the memory, raise the limit with "
            f"{MEMORY_ENV}=<GB> (or the function's memory_limit_gb=)")


# ----------------------------------------------------------------------------------------------------------------
# numbers


def check_number(name: str, value, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
                 lo_open: bool = False, hi_open: bool = False, who: str = ""):
    """``value`` as a Python number after checking that it is a real number (not a bool), finite, an integer when
    ``integer``, and within [``lo``, ``hi``] (open ends with ``lo_open`` / ``hi_open``). Raises ``TypeError`` or
    ``ValueError`` naming the argument, the value and the allowed range (``spacing=inf``, ``r_cut=nan``,
    ``steps=0`` used to pass or fail deep inside). For function arguments; estimators declare
    ``_parameter_constraints`` instead."""
    prefix = f"{who}: " if who else ""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    allowed = (f"{'an integer' if integer else 'a finite number'} in {left}{'-inf' if lo is None else lo}, "
               f"{'+inf' if hi is None else hi}{right}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{prefix}{name}={value!r} must be {allowed}, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{prefix}{name}={value!r} must be {allowed}")
    if integer and value != int(value):
        raise ValueError(f"{prefix}{name}={value!r} must be {allowed}")
    if lo is not None and (value < lo or (lo_open and value == lo)) or \
            hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{prefix}{name}={value!r} is out of range: it must be {allowed}")
    return int(value) if integer else float(value)


# ----------------------------------------------------------------------------------------------------------------
# papermill names


def _injected_cells(namespace: dict[str, Any]) -> list[str]:
    history = namespace.get("In") or []
    return [src for src in history if isinstance(src, str) and src.lstrip().startswith("# Parameters")]


def check_injected_names(namespace: dict[str, Any], parameters: Iterable[str] | None = None) -> list[str]:
    """Refuse a papermill parameter whose name the notebook rebinds to something else.

    papermill writes ``-p name value`` as ``name = value`` in an injected cell (its source starts with
    ``# Parameters``); a chapter that then runs ``import matplotlib.pyplot as plt`` silently discards
    ``-p plt 3``. Reads the injected cells from IPython's input history ``In``; raises ``ValueError`` when an
    injected name is now bound to a module, class or function, or is not in ``parameters`` (when given).
    Returns the injected names (empty outside a papermill run). :func:`localbook.params.check` may call it and
    re-raise as its own ``ParameterError`` (this module does not import ``params``: it sits below it)."""
    names: list[str] = []
    for src in _injected_cells(namespace):
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    known = None if parameters is None else set(parameters)
    for name in names:
        value = namespace.get(name)
        rebound = callable(value) or type(value).__name__ == "module"
        if rebound or (known is not None and name not in known):
            what = f"the notebook rebinds {name!r} to {type(value).__name__} {getattr(value, '__name__', '')!r}" \
                if rebound else f"{name!r} is not a parameter of this notebook"
            allowed = f"; its parameters are: {', '.join(sorted(known))}" if known else ""
            raise InjectedParameterError(f"the papermill parameter -p {name} ... was ignored: {what}{allowed}")
    return names
