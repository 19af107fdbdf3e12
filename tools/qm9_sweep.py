"""Chapter 02: MAE and cost per molecule of the scattering descriptor for several sampling settings.

    python tools/qm9_sweep.py OUT.jsonl [n_molecules] [setting ...]

Each setting gives the densities' width, grid step and stretch from the thesis' conditions (overlap eps_o, eq.
2.3; aliasing eps_a, section 2.2.1) or fixes them directly (the old chapter's sigma = step). For each one: the
descriptors of the same seeded molecules (timed), the 5-fold test MAE of a ridge on them (alone, and with the
element counts appended), and the mean change of the fold-0 ridge's prediction under random rotations of 40
test molecules. One JSON line per setting, written as soon as it is measured.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from scipy.spatial.transform import Rotation

from localbook.data.qm9 import load_qm9_molecules
from localbook.regression import cross_val_predictions, make_linear
from localbook.scattering3d import SolidHarmonicScattering
from localbook.scattering3d.sampling import gaussian_width_for_aliasing

SETTINGS = {
    # the old chapter: sigma = step = 0.8 Å, no condition
    "old_s0.8": dict(sigma=0.8, spacing=0.8, margin=3.0, J=2, L=[0, 1, 2]),
    "s0.5": dict(sigma=0.5, spacing=0.5, margin=3.0, J=2, L=[0, 1, 2]),
    # conditions: sigma = 1 (stretched units), stretch for eps_o, step for eps_a = 1e-3 at 29 atoms
    "eo0.5_J2": dict(eps_o=0.5, J=2, L=[0, 1, 2], margin_widths=2.0),
    "eo0.5_J3": dict(eps_o=0.5, J=3, L=[0, 1, 2], margin_widths=2.0),
    "eo0.5_J3_l123": dict(eps_o=0.5, J=3, L=[1, 2, 3], margin_widths=2.0),
    "eo0.3_J2": dict(eps_o=0.3, J=2, L=[0, 1, 2], margin_widths=2.0),
    "eo0.5_J3_m1": dict(eps_o=0.5, J=3, L=[0, 1, 2], margin_widths=1.0),
    "eo0.1_J2": dict(eps_o=0.1, J=2, L=[0, 1, 2], margin_widths=2.0),
    # chapter 02's protocol (localbook.chapters.ch02_qm9_regression): sigma from eps_o and QM9's closest pair,
    # no stretch;
    # each molecule in a box fitted to its size (grid="molecule")
    "p_eo0.5_J2": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                                margin_widths=2.0),
    "p_eo0.5_J2_q123": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[1.0, 2.0, 3.0],
                                     margin_widths=2.0),
    "p_eo0.5_J2_ea1e-6": dict(protocol=True, eps_o=0.5, eps_a=1e-6, J=2, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                                       margin_widths=2.0),
    "p_eo0.5_J3": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=3, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                                margin_widths=1.5),
    "p_J2_w1_m2": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                       sigma_w_ratio=1.0, margin_widths=2.0),
    "p_J2_w1_m2_q123": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[1.0, 2.0, 3.0],
                            sigma_w_ratio=1.0, margin_widths=2.0),
    "p_J2_w0.5_m3": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                         sigma_w_ratio=0.5, margin_widths=3.0),
    "p_J2_w1_m3_q123": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[1.0, 2.0, 3.0],
                            sigma_w_ratio=1.0, margin_widths=3.0),
    "p_B_w1_m3_q123_l123": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[1, 2, 3], qs=[1.0, 2.0, 3.0],
                                sigma_w_ratio=1.0, margin_widths=3.0),
    "p_C_w1_m3_q05_l123": dict(protocol=True, eps_o=0.5, eps_a=1e-3, J=2, ls=[1, 2, 3], qs=[0.5, 1.0, 2.0],
                               sigma_w_ratio=1.0, margin_widths=3.0),
    "p_D_w1_m3_q12_l12_ea1e-2": dict(protocol=True, eps_o=0.5, eps_a=1e-2, J=2, ls=[1, 2], qs=[1.0, 2.0],
                                     sigma_w_ratio=1.0, margin_widths=3.0),
    "p_Q_quick_preset": dict(protocol=True, eps_o=0.5, eps_a=1e-2, J=2, ls=[1, 2], qs=[1.0, 2.0, 3.0, 4.0],
                             sigma_w_ratio=1.0, margin_widths=3.0),
    "p_eo0.3_J2": dict(protocol=True, eps_o=0.3, eps_a=1e-3, J=2, ls=[0, 1, 2], qs=[0.5, 1.0, 2.0],
                                margin_widths=2.0),
}


def make(setting):
    s = dict(setting)
    if s.pop("protocol", False):
        from localbook.atoms.qm9_scattering import qm9_scattering

        return qm9_scattering(batch_size=8, **s)
    common = dict(qs=[0.5, 1.0, 2.0], channels=("Z", "valence", "core"), max_order=2, batch_size=8)
    if "eps_o" in s:
        sigma, sigma_w = 1.0, 0.5
        step = sigma / gaussian_width_for_aliasing(29, 1e-3)
        margin = s.pop("margin_widths") * 2 ** s["J"] * sigma_w
        return SolidHarmonicScattering(sigma=sigma, sigma_w=sigma_w, spacing=step, margin=margin,
                                       on_violation="rescale", eps_a=1e-2, **s, **common)
    return SolidHarmonicScattering(**s, **common)


def counts(atoms):
    return np.array([[np.sum(a.numbers == z) for z in (1, 6, 7, 8, 9)] for a in atoms], float)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    names = sys.argv[3:] or list(SETTINGS)
    mols = load_qm9_molecules(n=n, seed=0)
    y = mols.atomization_energy_kcal_mol
    C = counts(mols.atoms)
    base = cross_val_predictions(make_linear(), C, y, n_splits=5, seed=0)
    with open(out, "a") as f:
        f.write(json.dumps({"setting": "counts_only", "n": n, "mae": base.mae}) + "\n")
    rng = np.random.default_rng(1)
    for name in names:
        scat = make(SETTINGS[name])
        t0 = time.perf_counter()
        scat.fit(mols.atoms)
        X = scat.transform(mols.atoms)
        sec = (time.perf_counter() - t0) / n
        lin = cross_val_predictions(make_linear(), X, y, n_splits=5, seed=0)
        lin_c = cross_val_predictions(make_linear(), np.hstack([X, C]), y, n_splits=5, seed=0)
        test = np.flatnonzero(lin.fold == 0)[:40]
        model = make_linear().fit(X[lin.fold != 0], y[lin.fold != 0])
        rotated = []
        for i in test:
            a = mols.atoms[i].copy()
            a.positions = (a.positions - a.positions.mean(0)) @ Rotation.random(random_state=rng).as_matrix().T
            rotated.append(a)
        drift = np.abs(model.predict(scat.transform(rotated)) - model.predict(X[test]))
        shapes = [scat._placement(a, i)[0][0] for i, a in enumerate(mols.atoms)]
        rec = dict(setting=name, n=n, params={k: v for k, v in SETTINGS[name].items()}, grid=max(shapes),
                   scale=scat.scale_, margin=scat.margin_, spacing=scat.spacing_,
                   mean_voxels=float(np.mean([np.prod(s) for s in shapes])),
                   n_features=X.shape[1], seconds_per_molecule=sec, mae=lin.mae, mae_std=lin.mae_std,
                   mae_with_counts=lin_c.mae, rotation_drift_mean=float(drift.mean()),
                   rotation_drift_max=float(drift.max()), alpha_min_chosen=None)
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(rec, flush=True)


if __name__ == "__main__":
    main()
