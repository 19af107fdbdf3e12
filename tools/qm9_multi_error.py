"""Chapter 02: is the multi-resolution scattering accurate enough? Its difference from the exact mode, against the
exact mode's own rotation noise, on the same QM9 molecules (and the time of each, in alternating order).

    python tools/qm9_multi_error.py N_MOLECULES SETTINGS_JSON [MULTI_JSON ...]

SETTINGS_JSON: keyword arguments of ``qm9_scattering`` (e.g. the quick preset's); each MULTI_JSON: the multi mode's
``scale_eps`` / ``oversampling`` (default ``{}``). Errors are ``|S - S_ref| / max |S_ref|`` per coefficient (the
maximum over molecules), summarised by their median, 99th percentile and maximum over coefficients.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from scipy.spatial.transform import Rotation

from localbook.atoms import qm9_scattering as qs
from localbook.data.qm9 import load_qm9_molecules


def summary(err: np.ndarray) -> str:
    return f"median {np.median(err):.1e}, 99% {np.percentile(err, 99):.1e}, max {err.max():.1e}"


def main():
    n = int(sys.argv[1])
    kw = json.loads(sys.argv[2])
    multis = [json.loads(a) for a in sys.argv[3:]] or [{}]
    mols = load_qm9_molecules(n=n, seed=0).atoms
    rng, turned = np.random.default_rng(0), []
    for a in mols:
        b = a.copy()
        c = b.positions.mean(0)
        b.positions = (b.positions - c) @ Rotation.random(random_state=rng).as_matrix().T + c
        turned.append(b)
    both = mols + turned

    def run(**extra):
        scat = qs.qm9_scattering(**{**kw, **extra}, device="cpu").fit(mols)
        start = time.process_time()
        X = scat.transform(both)
        return X, (time.process_time() - start) / len(both)

    exact, t_exact = run()
    scale = np.abs(exact[:n]).max(0)
    rot = (np.abs(exact[n:] - exact[:n]) / scale).max(0)
    print(f"{kw}: {exact.shape[1]} coefficients, {n} molecules")
    print(f"  exact: {t_exact:.3f} s/molecule (CPU time); rotation change: {summary(rot)}")
    for m in multis:
        X, t = run(resolution="multi", **m)
        err = (np.abs(X - exact) / scale).max(0)
        rot_m = (np.abs(X[n:] - X[:n]) / scale).max(0)
        print(f"  multi {m}: {t:.3f} s/molecule ({t_exact / t:.2f}x faster); from exact: {summary(err)}; "
              f"its own rotation change: {summary(rot_m)}", flush=True)


if __name__ == "__main__":
    main()
