"""Periodic cells: which cells the grids support, and whether the wavelets fit in them (thesis sections 2.4-2.6).

Lengths in Å.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["orthorhombic_lengths", "check_wavelets_fit_cells"]


def orthorhombic_lengths(atoms, index: int = 0) -> tuple[float, float, float]:
    """Side lengths (Å) of the periodic orthorhombic cell of ``atoms`` (structure number ``index``, for messages).

    Raises ``ValueError`` naming the fix when the structure is not periodic in x, y and z or its cell is not an
    axis-aligned box (the grids sample boxes)."""
    cell = np.asarray(atoms.cell)
    if not np.all(atoms.pbc):
        raise ValueError(f"structure {index} is not periodic in x, y and z (pbc={atoms.pbc}); use grid='box'")
    off = cell - np.diag(np.diag(cell))
    if np.abs(off).max() > 1e-8 * max(np.abs(cell).max(), 1.0) or np.any(np.diag(cell) <= 0):
        raise ValueError(f"structure {index}: only orthorhombic cells aligned with x, y, z are supported "
                         f"(cell=\n{cell}); rotate it with ase.build.niggli_reduce / make_supercell first")
    return tuple(float(d) for d in np.diag(cell))


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
