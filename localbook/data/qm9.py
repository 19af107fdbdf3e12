"""QM9 molecules as ``ase.Atoms`` (offline source: the PyPI package ``qm9pack``, see DESIGN.md "Data").

The CSV files ``qm9_part{1,2,3}.csv`` of ``qm9pack`` list the 130,831 molecules in QM9 index order with
columns ``Elements`` and ``XYZ_Ang`` (JSON-like lists, Å) and ``InternalEnergy_0K_au`` (U0, Hartree).
They are read with pandas (``qm9pack.get_data`` needs ``pkg_resources``).
"""
from __future__ import annotations

import ast

import numpy as np

from localbook.data.registry import locate

__all__ = ["load_qm9"]

HARTREE_TO_KCAL_MOL = 627.509474


def load_qm9(n: int | None = 100, part: int = 1):
    """The first ``n`` molecules of ``qm9_part{part}.csv`` (all of them when ``n`` is None) as a list of
    ``ase.Atoms``; ``atoms.info`` holds ``index`` (QM9 index), ``smiles`` and ``U0_hartree``."""
    import pandas as pd
    from ase import Atoms
    if part not in (1, 2, 3):
        raise ValueError(f"part={part!r} must be 1, 2 or 3 (qm9_part1.csv .. qm9_part3.csv)")
    if n is not None and n < 1:
        raise ValueError(f"n={n!r} must be a positive number of molecules or None")
    path = locate("qm9") / f"qm9_part{part}.csv"
    df = pd.read_csv(path, nrows=n, usecols=["Index", "SMILES", "Elements", "XYZ_Ang", "InternalEnergy_0K_au"])
    out = []
    for idx, smi, el, xyz, u0 in df.itertuples(index=False):
        atoms = Atoms(symbols=ast.literal_eval(el), positions=np.asarray(ast.literal_eval(xyz), float))
        atoms.info.update(index=int(idx), smiles=str(smi), U0_hartree=float(u0))
        out.append(atoms)
    return out
