"""Regress the thesis-sampling descriptors that ``tools/qm9_gpu_run.py run`` computed on a GPU, here on a CPU, into
the results file chapter 02 reads (``localbook/atoms/data/qm9_thesis_sampling_gpu.json``)::

    python tools/qm9_gpu_fit.py OUTDIR --commit HASH --command "..." [--out FILE]

``OUTDIR`` holds the run's ``checks.json`` and ``thesis_K.npz`` files. The energies and compositions are read from
qm9pack by the QM9 ids the files carry. Two protocols, five folds each, seed 0:

* ``same_molecules``: the molecules of the chapter's medium run (the first 10,000 rows of the export), in QM9
  order as the chapter loads them, so that the folds are those of the recorded medium run: the linear model at the
  thesis' sampling and the dressed-atom baseline (with ``--trilinear``, the chapter's trilinear model at the medium
  preset's settings too), each trained on the whole training part of each fold;
* ``curve``: every molecule the run computed, learning curves (nested training sets, the chapter's
  :func:`~localbook.regression.learning_curve`) of the same two models up to the whole training part.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import time

import numpy as np


def load_run(outdir: str) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """``(checks, rows, qm9_id, X)`` of a GPU run's folder, rows sorted by their export index."""
    files = sorted(glob.glob(os.path.join(outdir, "thesis_*.npz")))
    if not files:
        raise FileNotFoundError(f"no thesis_K.npz files in {outdir}: run tools/qm9_gpu_run.py run first")
    parts = [np.load(f) for f in files]
    rows = np.concatenate([p["rows"] for p in parts])
    ids = np.concatenate([p["qm9_id"] for p in parts])
    X = np.concatenate([p["X"] for p in parts]).astype(np.float64)
    if len(np.unique(rows)) != len(rows):
        raise ValueError(f"{outdir}: a molecule appears twice in the thesis_K.npz files")
    with open(os.path.join(outdir, "checks.json")) as f:
        checks = json.load(f)
    return checks, rows, ids, X


def trilinear_model(seed: int = 0):
    """Chapter 02's trilinear model at the medium preset's settings (the notebook's constructor)."""
    from localbook.chapters.ch02_qm9_regression import PRESETS
    from localbook.regression import MultilinearRegressor

    v = PRESETS.values("medium")
    return MultilinearRegressor(order=3, n_terms=v["multilinear_terms"], n_epochs=v["multilinear_epochs"],
                                batch_size=128, lr=1e-4, init="ridge", validation_fraction=0.1, refit=True,
                                device="cpu", dtype="float64", random_state=seed)


def fit(outdir: str, n_medium: int = 10_000, n_splits: int = 5, seed: int = 0, trilinear: bool = False) -> dict:
    from localbook.atoms.qm9_baselines import make_dressed_atom
    from localbook.data.qm9 import load_qm9_molecules
    from localbook.regression import cross_val_predictions, learning_curve, make_linear

    checks, rows, ids, X = load_run(outdir)
    mols = load_qm9_molecules(ids=[int(i) for i in ids])
    y = np.asarray(mols.atomization_energy_kcal_mol)
    atoms = list(mols.atoms)
    out: dict = {"n_molecules": int(len(ids)), "n_features": int(X.shape[1])}

    def both(rows_sel, with_trilinear=False):
        Xs, ys, As = X[rows_sel], y[rows_sel], [atoms[i] for i in rows_sel]
        models = {"Scatt. linear (thesis sampling)": (make_linear(), Xs), "Dressed atom": (make_dressed_atom(), As)}
        if with_trilinear:
            models["Scatt. trilinear (thesis sampling)"] = (trilinear_model(seed), Xs)
        return models, ys

    # 1. the medium run's molecules and folds
    medium = np.flatnonzero(rows < n_medium)
    medium = medium[np.argsort(ids[medium])]  # QM9 order, as load_qm9_molecules(n=10_000, seed=0) returns them
    same = {}
    if len(medium) >= 4 * n_splits:
        models, ys = both(medium, trilinear)
        for name, (model, Xs) in models.items():
            t = time.perf_counter()
            cv = cross_val_predictions(model, Xs, ys, n_splits=n_splits, seed=seed, return_models=True)
            same[name] = {"mae": float(cv.mae), "fold_mae": [float(m) for m in cv.mae_per_fold],
                          "seconds": time.perf_counter() - t}
            if hasattr(cv.models[0][1], "best_epoch_"):  # the trilinear model: what early stopping chose
                same[name]["best_epoch"] = [int(m.best_epoch_) for _, m in cv.models]
                same[name]["n_parameters"] = int(sum(p.numel() for p in cv.models[0][1].module_.parameters()))
            print(f"same molecules ({len(medium)}): {name} MAE {same[name]['mae']:.3f}", flush=True)
    out["same_molecules"] = {"n_molecules": int(len(medium)), "qm9_ids_sha": _ids_digest(ids[medium]),
                             "models": same}

    # 2. learning curves on every molecule computed
    order = np.argsort(ids)
    models, ys = both(order)
    max_train = len(order) - int(np.ceil(len(order) / n_splits))
    sizes = [s for s in (250, 500, 1000, 2000, 4000, 8000) if s < max_train] + [max_train]
    curves = {}
    for name, (model, Xs) in models.items():
        lc = learning_curve(model, Xs, ys, sizes, n_splits=n_splits, seed=seed)
        curves[name] = {"mae": lc.mae.tolist()}
        print(f"curve: {name} " + " ".join(f"{s}:{m:.2f}" for s, m in zip(sizes, lc.mae_mean)), flush=True)
    out["curve"] = {"train_sizes": sizes, "n_splits": n_splits, "seed": seed, "models": curves}
    out["gpu"] = checks
    return out


def _ids_digest(ids: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.asarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir")
    p.add_argument("--commit", required=True, help="the commit whose code ran on the GPU")
    p.add_argument("--command", required=True, help="the command that ran on the GPU")
    p.add_argument("--out", default="localbook/atoms/data/qm9_thesis_sampling_gpu.json")
    p.add_argument("--trilinear", action="store_true", help="add the trilinear model to the same-molecule table")
    a = p.parse_args()
    result = fit(a.outdir, trilinear=a.trilinear)
    result["provenance"] = {"commit": a.commit, "gpu_command": a.command,
                            "fit_command": f"python tools/qm9_gpu_fit.py {a.outdir} --commit {a.commit} ...",
                            "date": time.strftime("%Y-%m-%d")}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
