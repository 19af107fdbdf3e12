"""Chemistry: the weights ``c_i`` of the atomic densities ``rho = sum_i c_i g_sigma(r - r_i)`` (thesis eq. 2.1).

One density per channel: nuclear charge, valence or core electrons, one per atom, or any per-atom array stored in
``atoms.arrays`` (thesis section 2.3: QM9 uses Z, valence and core; section 2.6.1: carbon uses ones).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["CHANNELS", "atom_channels", "core_electrons"]

_NOBLE = np.array([0, 2, 10, 18, 36, 54, 86, 118])

CHANNELS = {
    "Z": "nuclear charge (= total electrons of the neutral atom)",
    "valence": "valence electrons: Z minus core electrons (Fe: 8, C: 4, H: 1)",
    "core": "core electrons: those of the previous noble gas (plus filled d/f shells in the p block)",
    "ones": "1 for every atom (one species, thesis section 2.6.1)",
}


def core_electrons(z: np.ndarray) -> np.ndarray:
    """Electrons of the previous noble gas, plus filled d (and f) shells for p-block elements after them."""
    z = np.asarray(z)
    core_e = _NOBLE[np.searchsorted(_NOBLE, z, side="left") - 1]
    core_e = core_e + 10 * (((z >= 31) & (z <= 36)) | ((z >= 49) & (z <= 54)) | ((z >= 81) & (z <= 86)))
    core_e = core_e + 14 * ((z >= 81) & (z <= 86))
    return core_e


def atom_channels(atoms, channels: Sequence[str]) -> np.ndarray:
    """Weights ``c_i`` of eq. 2.1, shape ``(n_atoms, len(channels))``.

    A channel is a name of :data:`CHANNELS` or the key of a per-atom array in ``atoms.arrays``."""
    z = atoms.get_atomic_numbers()
    cols = []
    for c in channels:
        if c == "Z":
            cols.append(z.astype(float))
        elif c == "core":
            cols.append(core_electrons(z).astype(float))
        elif c == "valence":
            cols.append((z - core_electrons(z)).astype(float))
        elif c == "ones":
            cols.append(np.ones(len(z)))
        elif c in atoms.arrays:
            cols.append(np.asarray(atoms.arrays[c], float).reshape(len(z)))
        else:
            raise ValueError(f"unknown channel {c!r}: use one of {sorted(CHANNELS)} or a per-atom array "
                             f"key of atoms.arrays (this structure has {sorted(atoms.arrays)})")
    return np.stack(cols, -1)
