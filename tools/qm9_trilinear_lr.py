"""Chapter 02's trilinear model against Adam's learning rate, on the folds of a scale (default: medium).

For each learning rate and each of the chapter's folds, the trilinear model of the chapter (16 products, 200
epochs, batches of 128, started from the ridge, epoch chosen on a held-out tenth, then retrained on the whole
fold) is trained twice: on the fold's training part as the table does (``cv``), and on the same molecules in the
order of the learning curve's last point (``curve``). Printed per fold: the test MAE beside the linear model's,
the chosen epoch and the final training loss (standardised units); a retraining that diverges shows as a training
loss far above the ridge's (about 5e-4 at medium).

    python tools/qm9_trilinear_lr.py --scale medium --lrs 1e-3 3e-4 1e-4

The descriptors are read from the chapter's cache (computed if missing: minutes at medium on two cores).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from localbook.chapters import ch02_qm9_regression as chapter
from localbook.compute import cached_transform
from localbook.regression import MultilinearRegressor, make_linear
from localbook.regression.crossval import cv_folds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="medium")
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-4, 1e-4])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    values = chapter.PRESETS.values(args.scale)
    transformer, molecules, name = chapter.descriptor_job(args.scale, seed=args.seed)
    X, _ = cached_transform(transformer, molecules, name)
    y = np.array([m.info["atomization_energy_kcal_mol"] for m in molecules])  # the molecules of the descriptor
    folds = list(cv_folds(len(y), values["n_folds"], None, None, args.seed))
    # the learning curve's orders (localbook.regression.crossval.learning_curve, same seed)
    rng = np.random.default_rng(args.seed)
    orders = [rng.permutation(train) for train, _ in folds]
    linear = [np.abs(make_linear().fit(X[tr], y[tr]).predict(X[te]) - y[te]).mean() for tr, te in folds]
    print(f"{args.scale}: {len(y)} molecules, {X.shape[1]} coefficients; linear MAE per fold "
          f"{' '.join(f'{e:.2f}' for e in linear)} (mean {np.mean(linear):.2f} kcal/mol)")
    for lr in args.lrs:
        for label in ("cv", "curve"):
            maes = []
            for k, (train, test) in enumerate(folds):
                rows = train if label == "cv" else orders[k]
                t = time.perf_counter()
                model = MultilinearRegressor(order=3, n_terms=values["multilinear_terms"],
                                             n_epochs=values["multilinear_epochs"], batch_size=128, lr=lr,
                                             init="ridge", validation_fraction=0.1, refit=True, dtype="float64",
                                             random_state=args.seed, device="cpu").fit(X[rows], y[rows])
                maes.append(np.abs(model.predict(X[test]) - y[test]).mean())
                loss = model.loss_curve_[-1] if len(model.loss_curve_) else float("nan")
                print(f"  lr {lr:g} {label:5s} fold {k}: MAE {maes[-1]:6.2f} (linear {linear[k]:.2f}), epoch "
                      f"{model.best_epoch_:3d}, final training loss {loss:.1e}, {time.perf_counter() - t:.0f} s",
                      flush=True)
            below = sum(m < lin for m, lin in zip(maes, linear))
            print(f"lr {lr:g} {label}: mean MAE {np.mean(maes):.2f} kcal/mol, below the linear model in {below} of "
                  f"{len(folds)} folds", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
