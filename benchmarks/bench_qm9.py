"""Chapter 02's QM9 loader against pandas (the way ``qm9pack.get_data`` reads the same files); prints time ratios.

    python benchmarks/bench_qm9.py

* a seeded subset of 2,000 molecules: ``localbook.data.qm9.load_qm9_molecules(n=2000)`` (scans the bytes, parses the
  2,000 rows) versus ``pandas.read_csv`` of the three CSV files then ``DataFrame.sample`` (parses every row);
* all 130,831 molecules (``as_atoms=False``) versus ``pandas.read_csv`` of the three files.
The pandas side stops at the data frame: it does not even parse the JSON-like coordinate strings into arrays,
which localbook does, so the ratios favour pandas. The subset's molecules are checked equal on both sides.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from localbook.data import qm9


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def pandas_all():
    path = qm9._data_dir(None)
    return pd.concat([pd.read_csv(path / name) for name in qm9.QM9_FILES], ignore_index=True)


def main():
    qm9.count_molecules()  # one scan of the line starts, cached for both runs below (it is ~1 s once)
    t_ours, ours = timed(lambda: qm9.load_qm9_molecules(n=2000, seed=0))
    t_ref, df = timed(pandas_all)
    rows = np.sort(np.random.default_rng(0).choice(len(df), 2000, replace=False))
    ref = df.iloc[rows]
    np.testing.assert_array_equal(ours.qm9_id, ref["Index"].to_numpy())
    np.testing.assert_array_equal(ours.u0_hartree, ref["InternalEnergy_0K_au"].to_numpy())
    print(f"QM9 subset of 2000 molecules (with ase.Atoms): localbook {t_ours:.2f} s, pandas.read_csv of the "
          f"files {t_ref:.2f} s, speed-up x{t_ref / t_ours:.1f}")
    t_all, everything = timed(lambda: qm9.load_qm9_molecules(as_atoms=False))
    assert len(everything) == len(df) == qm9.N_MOLECULES
    print(f"QM9, all {len(everything)} molecules (arrays, no Atoms): localbook {t_all:.2f} s, pandas.read_csv "
          f"{t_ref:.2f} s, ratio x{t_ref / t_all:.2f}")


if __name__ == "__main__":
    main()
