"""The width of the scattering's Gaussians for chapter 04 (``ch04_entropy.SCATTERING_SIGMA``), measured.

    python tools/iron_scattering_sigma.py [--sigmas 0.2 0.25 0.3 0.4 0.5] [--batch-size 2]

On the shipped AM04 database's unstrained 128-atom I2-I4 + V4 cells: for each width sigma (Å), the overlap of
the Gaussians of the closest pair at mid-distance (chapter 01's eps_o), the scattering's grouped 5-fold CV RMSE
with ridge (penalty chosen by leave-one-out inside each training part) and with Bayesian ridge, and its cost per
cell; beside them the kind mean and the AFS (n_max 20, l_max 10) on the same folds. Memory grows as sigma^-3: one
width at a time peaks at about 6 GB at 0.3 Å with batches of 2 cells; the filter banks of earlier widths are
dropped before the next (``localbook.scattering3d.filters`` keeps up to 16 banks, bounded by count, not bytes: two
widths' banks in one process reached 24 GB on this 24 GB machine).
"""
from __future__ import annotations

import argparse

from localbook import regression
from localbook.atoms import defect_database, surrogate
from localbook.chapters import ch04_entropy as chapter
from localbook.data.fe_defects import find_databases, load_fe_defects, read_meta
from localbook.scattering3d.sampling import overlap_precision
from localbook.scattering3d import filters


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.2, 0.25, 0.3, 0.4, 0.5])
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args()
    paths, missing = find_databases(["AM04"], None)
    if missing:
        raise SystemExit(missing["AM04"])
    full, a0 = load_fe_defects("AM04", paths["AM04"]), read_meta(paths["AM04"])["a0"]
    cells = [full[i] for i in defect_database.select(full, kind=chapter.FAMILY, strain=0.0, n_cells=4)]
    y, groups = defect_database.column(cells, "entropy_kb"), defect_database.column(cells, "group")
    closest, _ = surrogate.closest_pair_overlap(cells, args.sigmas[0])  # the distance; overlaps per width below

    def rmse(x, model):
        return regression.cross_val_predictions(regression.make_linear(model), x, y, n_splits=5, groups=groups,
                                                seed=0).errors()["rmse"]

    kind = surrogate.baseline_features(cells, "cell mean")
    x_afs, _ = surrogate.formation_features(cells, a0, "afs", n_max=20, l_max=10, r_cut=5.0, progress=False)
    print(f"{len(cells)} cells, closest pair {closest:.3f} Å; kind mean RMSE {rmse(kind, 'ridge'):.3f} k_B; "
          f"AFS ridge {rmse(x_afs, 'ridge'):.3f}, Bayesian ridge {rmse(x_afs, 'bayes'):.3f} k_B", flush=True)
    for sigma in args.sigmas:
        filters._cached_bank.cache_clear()  # the banks of the previous width (see the module docstring)
        x, seconds = surrogate.formation_features(cells, a0, "scattering", L=9, sigma=sigma, progress=False,
                                                  batch_size=args.batch_size)
        print(f"sigma {sigma} Å: overlap at the closest pair {overlap_precision(sigma, closest):.2g}; scattering "
              f"ridge {rmse(x, 'ridge'):.3f}, Bayesian ridge {rmse(x, 'bayes'):.3f} k_B; {1000 * seconds:.0f} ms "
              "per cell", flush=True)


if __name__ == "__main__":
    main()
