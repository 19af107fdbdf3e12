"""Cost of the exact harmonic entropy (Hessian + eigenvalues, O(N^3)) versus the AFS linear surrogate (O(N)).

Peer: the exact route of this book (analytic EAM Hessian, ``torch.linalg.eigvalsh``), i.e. what the surrogate
replaces. For each cell size N (atoms) the script times both on a relaxed monovacancy cell; the exact route is
measured up to ``--exact-max`` atoms and extrapolated beyond with a fitted c N^3. It prints both times, their
ratio at N = 10,000 and the surrogate's error on the vacancy at the largest exactly computed N.

    python benchmarks/bench_entropy.py [--exact-max 2000] [--sizes 4 5 6 8 10 16 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import localbook  # noqa: F401
from common import record  # noqa: I001
from localbook import regression
from localbook.atoms import defects as D
from localbook.atoms import surrogate as sg
from localbook.atoms.afs import AFSDescriptor
from localbook.atoms.defect_database import column, select
from localbook.atoms.eam import load_potential
from localbook.atoms.entropy import formation_entropy, hessian_eigenvalues
from localbook.data.fe_defects import load_fe_defects, read_meta, shipped_path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="AM04")
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 5, 6, 8, 10, 16, 20],
                    help="cubic cells n (2 n^3 atoms); 20 -> 16,000 atoms")
    ap.add_argument("--exact-max", type=int, default=2000, help="largest N for the exact route")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    pot = load_potential(a.potential, device=a.device)
    db = load_fe_defects(a.potential)
    a0 = read_meta(shipped_path(a.potential))["a0"]
    structures = [db[i] for i in select(db, source="crystal")]
    desc = AFSDescriptor(device=a.device)
    x, _ = sg.formation_features(structures, a0, "afs", device=a.device)
    model = regression.make_linear("bayes").fit(x, column(structures, "entropy_kb"))
    phi_bulk = {0.0: sg.bulk_descriptor(a0, 0.0)}
    rows, exact_n, exact_t, last = [], [], [], None
    for n in a.sizes:
        bulk = D.bcc_supercell(a0, n)
        vac = bulk.copy()
        del vac[0]
        vac, _, _ = D.relax(vac, pot, fmax=1e-3 if len(bulk) > a.exact_max else 1e-4)
        t = time.perf_counter()
        s_pred = float(model.predict(sg.formation_descriptor(desc.transform([vac]), [len(vac)], phi_bulk[0.0]))[0])
        t_sur = time.perf_counter() - t
        t_ex, s_ex = float("nan"), float("nan")
        if len(bulk) <= a.exact_max:
            t = time.perf_counter()
            ev_d = hessian_eigenvalues(vac, pot)
            t_ex = time.perf_counter() - t
            ev_b = hessian_eigenvalues(bulk, pot)
            s_ex = formation_entropy(ev_d, len(vac), ev_b, len(bulk), pot.mass)
            exact_n.append(len(vac))
            exact_t.append(t_ex)
            last = (len(vac), s_ex, s_pred)
        rows.append((len(vac), t_ex, t_sur, s_ex, s_pred))
        print(f"N={len(vac):6d}  exact {t_ex:8.2f} s  surrogate {t_sur:7.3f} s  S_f exact {s_ex:6.2f}  "
              f"predicted {s_pred:6.2f} k_B", flush=True)
    big = np.array(exact_n[-2:], float)
    c = float(np.mean(np.array(exact_t[-2:]) / big ** 3))
    n_sur = np.array([r[0] for r in rows], float)
    t_sur = np.array([r[2] for r in rows], float)
    slope, icpt = np.polyfit(np.log(n_sur), np.log(t_sur), 1)
    t_sur_10k = float(np.exp(icpt) * 10_000 ** slope)
    t_ex_10k = c * 10_000 ** 3
    print(f"exact route fitted as {c:.3g} N^3 s; surrogate time ~ N^{slope:.2f}")
    print(f"N = 10,000: exact {t_ex_10k:.3g} s (extrapolated), surrogate {t_sur_10k:.3g} s, "
          f"ratio exact/surrogate {t_ex_10k / t_sur_10k:.3g}")
    record("entropy_exact_vs_afs_10000", title="vibrational entropy of a 10,000-atom cell: exact vs AFS surrogate",
           peer="exact route (analytic EAM Hessian + eigvalsh)", ours="AFS descriptor + linear surrogate",
           sizes={"atoms": 10_000, "potential": a.potential}, peer_times=[t_ex_10k], ours_times=[t_sur_10k],
           checks={"surrogate_error_kB": last[2] - last[1] if last else float("nan"),
                   "at_atoms": last[0] if last else 0},
           notes=f"both extrapolated to N = 10,000: exact as c N^3 from N <= {a.exact_max}, surrogate as a power "
                 f"law N^{slope:.2f} fitted on the measured sizes; one measurement per size (no rounds)")
    if last:
        print(f"surrogate error on the vacancy at N = {last[0]}: {last[2] - last[1]:+.3f} k_B "
              f"(exact {last[1]:.3f}, predicted {last[2]:.3f})")


if __name__ == "__main__":
    main()
