"""Chapter 02: relative change of the scattering coefficients of 8 QM9 molecules under one random rotation each.

    python tools/qm9_rotation_noise.py SETTINGS_JSON [SETTINGS_JSON ...]

Each SETTINGS_JSON holds keyword arguments of qm9_scattering (eps_o 0.5, eps_a 1e-3 and J 2 unless given).
Prints the median, 99th percentile and largest |S(R a) - S(a)| / max |S(a)| over molecules and coefficients.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from scipy.spatial.transform import Rotation

from localbook.atoms import qm9_scattering as qs
from localbook.data.qm9 import load_qm9_molecules


def main():
    atoms = load_qm9_molecules(n=1000, seed=0).atoms
    mols, rng, turned = atoms[:8], np.random.default_rng(0), []
    for a in mols:
        b = a.copy()
        c = b.positions.mean(0)
        b.positions = (b.positions - c) @ Rotation.random(random_state=rng).as_matrix().T + c
        turned.append(b)
    for arg in sys.argv[1:]:
        kw = json.loads(arg)
        start = time.perf_counter()
        scat = qs.qm9_scattering(**{"eps_o": 0.5, "eps_a": 1e-3, "J": 2, **kw}).fit(atoms[:50])
        X = scat.transform(mols + turned)
        seconds = (time.perf_counter() - start) / 16
        rel = np.abs(X[8:] - X[:8]) / np.abs(X[:8]).max(0)
        print(f"{kw} {seconds:.2f} s/molecule; rotation change: median {np.median(rel):.1e}, "
              f"99% {np.percentile(rel, 99):.1e}, max {rel.max():.1e}", flush=True)


if __name__ == "__main__":
    main()
