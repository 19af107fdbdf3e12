"""Chapter 02 on a GPU: the checks and descriptors that a 2-core CPU cannot afford, in one time-boxed run.

    python tools/qm9_gpu_run.py export DATA.npz                 # here (needs qm9pack): the molecules, as arrays
    python tools/qm9_gpu_run.py run DATA.npz OUTDIR --budget 480 [--device cuda]   # on the GPU machine

(``export --n-quick 30 --n-medium 60`` and ``run --device cpu --scale smoke --budget 60`` try it on a CPU.)

``run`` needs only torch, scikit-learn, SciPy and ASE (no qm9pack: the molecules travel as arrays) and writes,
each phase as soon as it is done (a run stopped by its time limit keeps what it finished):

1. ``checks.json``: CUDA against CPU on 4 molecules at the quick preset (exact and multi-resolution); at the thesis
   preset, on 4 molecules, the multi-resolution mode's difference from the exact one against the exact mode's own
   change under a rotation (relative to each coefficient's largest value), and the time per molecule of each.
2. ``quick_candidates.npz``: descriptors of chapter 02's 1,000 quick-scale molecules and of 200 of them turned by a
   random rotation, for each candidate setting of the quick preset (``CANDIDATES``), with the GPU time per molecule.
3. ``thesis_K.npz``: the thesis preset's descriptors (its sigma, grid step, margin, J, l and q) of the 10,000
   medium-scale molecules in a seeded random order, then of ``--n-extra`` more molecules drawn from the rest of
   QM9, for as many as the remaining budget allows (files of at most 4,000 molecules, six files at most), with
   their QM9 ids; regress them here with the same ids (``tools/qm9_gpu_fit.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

QUICK = dict(J=2, ls=[1, 2], qs=[1.0, 2.0, 3.0, 4.0], eps_o=0.5, eps_a=1e-2, sigma_w_ratio=1.0, margin_widths=3.0)
CANDIDATES = {
    "quick": {},
    "l123": dict(ls=[1, 2, 3]),
    "q05": dict(qs=[0.5, 1.0, 2.0, 3.0, 4.0]),
    "eo0.3": dict(eps_o=0.3),
    "ea1e-3": dict(eps_a=1e-3),
    "w0.5_J3": dict(sigma_w_ratio=0.5, J=3),
    "J3_m2": dict(J=3, margin_widths=2.0),
}
N_ROTATED = 200


def export(path: str, n_quick: int = 1000, n_medium: int = 10_000, n_extra: int = 0) -> None:
    """The quick (1,000) and medium (10,000) molecule sets of chapter 02 (seed 0), rotated copies, and ``n_extra``
    more molecules (seed 3, none of the medium set) appended to the medium set after it in ``medium_order``."""
    from scipy.spatial.transform import Rotation

    from localbook.data.qm9 import N_MOLECULES, load_qm9_molecules

    out = {}
    medium_ids = None
    for name, n in (("quick", n_quick), ("medium", n_medium)):
        m = load_qm9_molecules(n=n, seed=0, as_atoms=False)
        if name == "medium":
            medium_ids = np.asarray(m.qm9_id)
            if n_extra:
                every = load_qm9_molecules(as_atoms=False).qm9_id
                if len(every) != N_MOLECULES:
                    raise RuntimeError(f"expected {N_MOLECULES} molecules in qm9pack, found {len(every)}")
                rest = np.setdiff1d(every, medium_ids)
                extra = np.sort(np.random.default_rng(3).choice(rest, n_extra, replace=False))
                e = load_qm9_molecules(ids=[int(i) for i in extra], as_atoms=False)
                m = type("Joined", (), dict(
                    numbers=np.concatenate([m.numbers, e.numbers]),
                    positions_angstrom=np.concatenate([m.positions_angstrom, e.positions_angstrom]),
                    offsets=np.concatenate([m.offsets, e.offsets[1:] + m.offsets[-1]]),
                    qm9_id=np.concatenate([m.qm9_id, e.qm9_id])))
        out.update({f"{name}_numbers": m.numbers.astype(np.int8), f"{name}_positions": m.positions_angstrom,
                    f"{name}_offsets": m.offsets, f"{name}_qm9_id": m.qm9_id})
    rng = np.random.default_rng(1)
    out["rotations"] = Rotation.random(min(N_ROTATED, n_quick), random_state=rng).as_matrix()
    out["medium_order"] = np.concatenate([np.random.default_rng(2).permutation(n_medium),
                                          n_medium + np.random.default_rng(4).permutation(n_extra)])
    np.savez_compressed(path, **out)


def molecules(data, name: str, rows=None) -> list:
    from ase import Atoms

    off, num, pos = data[f"{name}_offsets"], data[f"{name}_numbers"], data[f"{name}_positions"]
    rows = range(len(off) - 1) if rows is None else rows
    return [Atoms(numbers=num[off[i]:off[i + 1]].astype(int), positions=pos[off[i]:off[i + 1]]) for i in rows]


def rotated(atoms: list, rotations: np.ndarray) -> list:
    out = []
    for a, r in zip(atoms, rotations):
        b = a.copy()
        c = b.positions.mean(0)
        b.positions = (b.positions - c) @ r.T + c
        out.append(b)
    return out


def scattering(settings: dict, device: str, **extra):
    from localbook.atoms.qm9_scattering import qm9_scattering

    keys = ("J", "ls", "qs", "eps_o", "eps_a", "sigma_w_ratio", "margin_widths")
    return qm9_scattering(**{k: settings[k] for k in keys}, orientation=settings.get("orientation", "principal"),
                          device=device, **extra)


def timed(transformer, atoms, device) -> tuple[np.ndarray, float]:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    X = transformer.transform(atoms)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return X, (time.perf_counter() - start) / len(atoms)


def rel(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> dict:
    e = (np.abs(a - b) / scale).max(0)
    return {"median": float(np.median(e)), "p99": float(np.percentile(e, 99)), "max": float(e.max())}


def run(data_path: str, outdir: str, budget: float, device: str, scale: str = "thesis",
        candidates=tuple(CANDIDATES)) -> None:
    import torch

    from localbook.chapters.ch02_qm9_regression import PRESETS

    t_end = time.perf_counter() + budget
    os.makedirs(outdir, exist_ok=True)
    data = np.load(data_path)
    quick = molecules(data, "quick")
    checks = {"torch": torch.__version__, "device": device,
              "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None}

    def save_checks():
        with open(os.path.join(outdir, "checks.json"), "w") as f:
            json.dump(checks, f, indent=1)

    # 1. CUDA against CPU, then the multi-resolution error at the thesis' sampling
    few = quick[:4]
    for res in ("exact", "multi"):
        cpu = scattering(QUICK, "cpu", resolution=res).fit(few).transform(few)
        gpu = scattering(QUICK, device, resolution=res).fit(few).transform(few)
        checks[f"quick_{res}_gpu_vs_cpu"] = rel(gpu, cpu, np.abs(cpu).max(0))
    save_checks()
    print(json.dumps(checks), flush=True)
    thesis = PRESETS.values(scale)
    turned = rotated(few, data["rotations"][:4])
    exact = scattering(thesis, device, resolution="exact", batch_size=4).fit(few)
    X, t_exact = timed(exact, few + turned, device)
    multi = scattering(thesis, device, resolution="multi", batch_size=4).fit(few)
    M, t_multi = timed(multi, few + turned, device)
    given = scattering({**thesis, "orientation": "as_given"}, device, resolution="exact", batch_size=4).fit(few)
    G, _ = timed(given, few + turned, device)
    scale = np.abs(X[:4]).max(0)
    checks["thesis_preset_4_molecules"] = {
        "n_features": X.shape[1], "exact_s_per_molecule": t_exact, "multi_s_per_molecule": t_multi,
        "exact_rotation_change": rel(X[4:], X[:4], scale), "multi_vs_exact": rel(M, X, scale),
        "multi_rotation_change": rel(M[4:], M[:4], scale),
        "exact_rotation_change_as_given": rel(G[4:], G[:4], np.abs(G[:4]).max(0))}
    save_checks()
    print(json.dumps(checks["thesis_preset_4_molecules"]), flush=True)

    # 2. the quick preset's candidates on the 1,000 quick molecules (+ 200 turned), multi-resolution
    cand = {}
    turned = rotated(quick[:len(data["rotations"])], data["rotations"])
    for name in candidates:
        change = CANDIDATES[name]
        if time.perf_counter() > t_end - 0.6 * budget:
            break
        s = scattering({**QUICK, **change}, device, resolution="multi", batch_size=32).fit(quick)
        X, sec = timed(s, quick + turned, device)
        cand[f"{name}_X"] = X.astype(np.float32)
        cand[f"{name}_seconds_per_molecule"] = np.float64(sec)
        cand[f"{name}_settings"] = np.array(json.dumps({**QUICK, **change}))
        np.savez_compressed(os.path.join(outdir, "quick_candidates.npz"), qm9_id=data["quick_qm9_id"], **cand)
        print(name, X.shape, f"{sec * 1e3:.1f} ms/molecule", flush=True)

    # 3. the thesis preset on the medium molecules, in a random order, until the budget is spent
    order = data["medium_order"]
    s = scattering(thesis, device, resolution="multi", batch_size=16)
    s.fit(molecules(data, "medium", order[:64]))
    done, part, rows, parts, seconds = 0, 0, [], [], 0.0
    chunk = 256
    while done < len(order) and part < 6 and time.perf_counter() < t_end - 30:
        idx = order[done:done + chunk]
        X, sec = timed(s, molecules(data, "medium", idx), device)
        seconds += sec * len(idx)
        rows.append(idx)
        parts.append(X.astype(np.float32))
        done += len(idx)
        if sum(len(r) for r in rows) >= 4000 or time.perf_counter() > t_end - 30 - 2 * sec * chunk:
            np.savez_compressed(os.path.join(outdir, f"thesis_{part}.npz"), rows=np.concatenate(rows),
                                qm9_id=data["medium_qm9_id"][np.concatenate(rows)], X=np.concatenate(parts),
                                names=np.array(list(s.get_feature_names_out())))
            part, rows, parts = part + 1, [], []
        checks["thesis_preset_run"] = {"molecules": done, "seconds": seconds, "s_per_molecule": seconds / done,
                                       "settings": {k: v for k, v in thesis.items()},
                                       "peak_gpu_memory_gb": (torch.cuda.max_memory_allocated() / 1e9
                                                              if device.startswith("cuda") else None)}
        save_checks()
        print(f"thesis preset: {done} molecules, {seconds / done * 1e3:.1f} ms/molecule", flush=True)
    if rows:
        np.savez_compressed(os.path.join(outdir, f"thesis_{part}.npz"), rows=np.concatenate(rows),
                            qm9_id=data["medium_qm9_id"][np.concatenate(rows)], X=np.concatenate(parts),
                            names=np.array(list(s.get_feature_names_out())))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("path")
    e.add_argument("--n-quick", type=int, default=1000)
    e.add_argument("--n-medium", type=int, default=10_000)
    e.add_argument("--n-extra", type=int, default=0, help="molecules beyond the medium set (thesis phase only)")
    r = sub.add_parser("run")
    r.add_argument("data")
    r.add_argument("outdir")
    r.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run")
    r.add_argument("--device", default="cuda")
    r.add_argument("--scale", default="thesis", help="the chapter preset of phases 1 and 3 (smoke: a CPU try)")
    r.add_argument("--candidates", nargs="*", default=list(CANDIDATES), choices=list(CANDIDATES))
    a = p.parse_args()
    if a.cmd == "export":
        export(a.path, a.n_quick, a.n_medium, a.n_extra)
    else:
        run(a.data, a.outdir, a.budget, a.device, a.scale, a.candidates)


if __name__ == "__main__":
    main()
