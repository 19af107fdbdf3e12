"""Chapter 02: 5-fold ridge MAE and rotation drift of the predictions for scattering settings (foreground-sized).

    python tools/qm9_compare_settings.py N_MOLECULES SETTINGS_JSON [SETTINGS_JSON ...]

Each SETTINGS_JSON holds keyword arguments of qm9_scattering (eps_o 0.5 and J 2 unless given), e.g.
'{"ls": [1, 2], "qs": [1, 2, 3, 4], "sigma_w_ratio": 1.0, "margin_widths": 3, "eps_a": 0.01}'. The drift is that
of the first fold's model over 30 of its test molecules, one random rotation each.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from localbook.atoms import qm9_scattering as qs
from localbook.data.qm9 import load_qm9_molecules
from localbook.regression import cross_val_predictions, make_linear


def main():
    n = int(sys.argv[1])
    mols = load_qm9_molecules(n=n, seed=0)
    y = mols.atomization_energy_kcal_mol
    for arg in sys.argv[2:]:
        kw = json.loads(arg)
        start = time.perf_counter()
        scat = qs.qm9_scattering(**{"eps_o": 0.5, "J": 2, **kw}).fit(mols.atoms)
        X = scat.transform(mols.atoms)
        seconds = (time.perf_counter() - start) / n
        cv = cross_val_predictions(make_linear(), X, y, n_splits=5, seed=0, return_models=True)
        test, model = cv.models[0]
        drift = qs.rotation_drift(model, scat, [mols.atoms[i] for i in test[:30]], np.random.default_rng(1))
        print(f"{kw} {X.shape[1]} features, {seconds:.2f} s/molecule, MAE {cv.mae:.2f}, "
              f"drift mean {drift.mean():.2f} max {drift.max():.2f}", flush=True)


if __name__ == "__main__":
    main()
