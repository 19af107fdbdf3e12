"""Chapter 02: does the linear scattering model beat the two trivial baselines at a preset? (a queue job)

    python tools/qm9_quick_check.py [SCALE] [setting=value ...]

Computes (or reads from ``$LOCALBOOK_CACHE``, under the notebook's cache name, so that the chapter reuses them) the
descriptors of the preset's molecules, then prints the 5-fold MAE of the linear scattering model, of the same with
the element counts appended, of the dressed atom and of counts + pair histograms, all on the same folds; the
rotation drift of the first fold's model over 40 of its test molecules; and the CPU time (all threads) of each
step, which the load of a shared machine does not inflate as it does the wall-clock time.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from localbook.atoms import qm9_baselines as baselines, qm9_scattering as qm9s
from localbook.chapters import ch02_qm9_regression as chapter
from localbook.compute import cached_transform
from localbook.data.qm9 import load_qm9_molecules
from localbook.regression import cross_val_predictions, make_linear


def main():
    scale = sys.argv[1] if len(sys.argv) > 1 else "quick"
    overrides = dict(a.split("=", 1) for a in sys.argv[2:])
    overrides = {k: eval(v, {}) for k, v in overrides.items()}  # noqa: S307 -- numbers and lists from the command line
    clock = time.process_time()

    def lap(what):
        nonlocal clock
        now = time.process_time()
        print(f"  [{what}: {now - clock:.1f} s of CPU]", flush=True)
        clock = now

    scattering, atoms, name = chapter.descriptor_job(scale=scale, device="cpu", **overrides)
    v = {**chapter.PRESETS.values(scale), **overrides}
    X, seconds = cached_transform(scattering, atoms, name)
    lap(f"descriptors {X.shape}, {seconds * 1e3:.0f} ms/molecule wall")
    y = load_qm9_molecules(n=v["n_molecules"], seed=0).atomization_energy_kcal_mol
    counts = baselines.ElementCounts().fit_transform(atoms)
    rows = {}
    for label, features, model in [("dressed atom", atoms, baselines.make_dressed_atom()),
                                   ("counts + pair histograms", atoms, baselines.make_counts_histograms()),
                                   ("Scatt. linear", X, make_linear()),
                                   ("Scatt. linear + counts", np.hstack([X, counts]), make_linear())]:
        rows[label] = cross_val_predictions(model, features, y, n_splits=v["n_folds"], seed=0, return_models=True)
        lap(label)
    test, model = rows["Scatt. linear"].models[0]
    drift = qm9s.rotation_drift(model, scattering.fit(atoms), [atoms[i] for i in test[:40]], np.random.default_rng(0))
    lap("rotation drift")
    print(f"{scale} {overrides}: {len(atoms)} molecules, {X.shape[1]} features")
    for label, cv in rows.items():
        print(f"  {label:28s} MAE {cv.mae:6.2f} kcal/mol (std over folds {cv.mae_std:.2f})")
    print(f"  rotation drift of the linear model: mean {drift.mean():.2f}, max {drift.max():.2f} kcal/mol")


if __name__ == "__main__":
    main()
