"""Chapter 02's QM9 loader against pandas (the way ``qm9pack.get_data`` reads the same files); records time ratios.

    python benchmarks/bench_qm9.py [--rounds 3]

* ``qm9_load_subset``: a seeded subset of 2,000 molecules, ``localbook.data.qm9.load_qm9_molecules(n=2000)``
  (scans the bytes, parses the 2,000 rows, builds ``ase.Atoms``) versus ``pandas.read_csv`` of the three CSV files
  then ``DataFrame.sample``-style row selection (parses every row);
* ``qm9_load_all``: all 130,831 molecules (``as_atoms=False``) versus ``pandas.read_csv`` of the three files.
The pandas side stops at the data frame: it does not parse the JSON-like coordinate strings into arrays, which
localbook does, so the ratios favour pandas. The subset's ids and energies are checked equal on both sides, and
the full load's molecule count against the frame's, before anything is timed.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from common import alternating_rounds, record  # noqa: I001
from localbook.data import qm9

N_SUBSET = 2000


def pandas_all() -> pd.DataFrame:
    path = qm9._data_dir(None)
    return pd.concat([pd.read_csv(path / name) for name in qm9.QM9_FILES], ignore_index=True)


def pandas_subset() -> pd.DataFrame:
    df = pandas_all()
    rows = np.sort(np.random.default_rng(0).choice(len(df), N_SUBSET, replace=False))
    return df.iloc[rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    qm9.count_molecules()  # one scan of the line starts (~1 s), cached for every call below

    def ours_subset():
        return qm9.load_qm9_molecules(n=N_SUBSET, seed=0)

    def ours_all():
        return qm9.load_qm9_molecules(as_atoms=False)

    ours, ref = ours_subset(), pandas_subset()
    np.testing.assert_array_equal(ours.qm9_id, ref["Index"].to_numpy())
    np.testing.assert_array_equal(ours.u0_hartree, ref["InternalEnergy_0K_au"].to_numpy())
    t = alternating_rounds({"ours": ours_subset, "peer": pandas_subset}, args.rounds)
    record("qm9_load_subset", title=f"QM9 loader, a seeded subset of {N_SUBSET:,} molecules (with ase.Atoms)",
           peer="pandas.read_csv of the three files + row selection", ours="data.qm9.load_qm9_molecules(n=2000)",
           sizes={"molecules": N_SUBSET}, peer_times=t["peer"], ours_times=t["ours"],
           checks={"ids and U0 of the subset": "equal"},
           notes="pandas stops at the data frame (coordinates left as strings)")

    assert len(ours_all()) == len(pandas_all()) == qm9.N_MOLECULES
    t = alternating_rounds({"ours": ours_all, "peer": pandas_all}, args.rounds)
    record("qm9_load_all", title=f"QM9 loader, all {qm9.N_MOLECULES:,} molecules (arrays, no Atoms)",
           peer="pandas.read_csv of the three files", ours="data.qm9.load_qm9_molecules(as_atoms=False)",
           sizes={"molecules": qm9.N_MOLECULES}, peer_times=t["peer"], ours_times=t["ours"],
           checks={"molecule count": f"{qm9.N_MOLECULES} on both sides"},
           notes="pandas stops at the data frame (coordinates left as strings)")


if __name__ == "__main__":
    main()
