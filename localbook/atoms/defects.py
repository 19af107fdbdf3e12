"""Point-defect configurations in bcc iron and their database (thesis section 3.3).

Structures are ``ase.Atoms`` in cubic periodic supercells of ``n x n x n`` conventional bcc cells
(``2 n^3`` atoms). Defects: vacancy clusters V1-V4 (atoms removed from a compact random set of sites) and
self-interstitial clusters I1-I4 (random dumbbells on neighbouring sites), relaxed with ASE's FIRE at fixed
cell (fmax <= 1e-4 eV/A), identified by a Wigner-Seitz analysis, deduplicated (energies within 1e-2 eV and
equal principal moments of inertia of the defect), copied under isotropic strain and re-relaxed; a
"random" set holds cells with many Frenkel pairs. The thesis generated its configurations with ART nouveau
(not available here): random placement + relaxation finds fewer, mostly low-energy, configurations.

The database command (run ``python -m localbook.atoms.defects build --help``)::

    python -m localbook.atoms.defects build --potential AM04 --out fe_defects_AM04.npz

Units: A, eV, entropies in k_B.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from localbook.atoms.eam import EAMPotential, load_potential
from localbook.atoms.entropy import check_minimum, formation_entropy, hessian_eigenvalues

__all__ = ["bcc_supercell", "lattice_parameter", "relax", "vacancy_formation_energy", "make_defect",
           "make_frenkel_pairs", "wigner_seitz", "defect_moments", "duplicates", "build_database",
           "save_database", "load_database", "database_atoms", "KINDS"]

KINDS = ("V1", "V2", "V3", "V4", "I1", "I2", "I3", "I4")
_DUMBBELL_DIRS = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=float)


def bcc_supercell(a0: float, n: int, strain: float = 0.0):
    """Perfect bcc iron, cubic cell of side ``n a0 (1 + strain)`` (A), ``2 n^3`` atoms, periodic."""
    from ase.build import bulk
    if n < 1:
        raise ValueError(f"n={n}: the supercell needs at least one conventional cell per side")
    return bulk("Fe", "bcc", a=a0 * (1 + strain), cubic=True).repeat(n)


def lattice_parameter(potential: EAMPotential) -> float:
    """Equilibrium bcc lattice parameter (A): minimum of the energy per atom (bounded scalar search)."""
    from scipy.optimize import minimize_scalar
    res = minimize_scalar(lambda a: float(potential.energy(bcc_supercell(a, 1))) / 2, bounds=(2.6, 3.1),
                          method="bounded", options=dict(xatol=1e-8))
    return float(res.x)


def relax(atoms, potential, fmax: float = 1e-4, steps: int = 20000):
    """Relax positions at fixed cell until the largest force is below ``fmax`` (eV/A) with the potential's own
    relaxer (ASE's FIRE for :class:`EAMPotential`, LAMMPS' ``minimize`` for a LAMMPS-backed potential).

    Returns ``(atoms, converged, energy_eV)``.
    """
    return potential.relax(atoms, fmax=fmax, steps=steps)


def vacancy_formation_energy(potential: EAMPotential, n: int = 4, a0: float | None = None) -> float:
    """Relaxed monovacancy formation energy (eV): ``E(N-1) - (N-1)/N E(N)`` in an ``n^3`` cubic supercell."""
    a0 = lattice_parameter(potential) if a0 is None else a0
    at = bcc_supercell(a0, n)
    n_at = len(at)
    e_bulk = float(potential.energy(at))
    del at[0]
    _, ok, e = relax(at, potential)
    if not ok:
        raise RuntimeError("the vacancy relaxation did not converge")
    return e - (n_at - 1) / n_at * e_bulk


def _lattice_sites(a0: float, n: int, strain: float = 0.0) -> np.ndarray:
    return bcc_supercell(a0, n, strain).positions


def _compact_sites(sites: np.ndarray, length: float, k: int, rng, shell: float) -> np.ndarray:
    """``k`` distinct site indices grown from a random seed, each new one within ``shell`` of a chosen one."""
    chosen = [int(rng.integers(len(sites)))]
    while len(chosen) < k:
        d = sites[None, :, :] - sites[chosen][:, None, :]
        d -= length * np.round(d / length)
        near = (np.sqrt((d ** 2).sum(-1)) < shell).any(0)
        near[chosen] = False
        chosen.append(int(rng.choice(np.flatnonzero(near))))
    return np.array(chosen)


def make_defect(kind: str, a0: float, n: int, rng: np.random.Generator, strain: float = 0.0):
    """An unrelaxed defect: ``"V<k>"`` removes ``k`` atoms on a compact random set of sites (within the
    second-neighbour shell of one another); ``"I<k>"`` replaces ``k`` such atoms by dumbbells of random
    <110>, <100> or <111> orientation and sign (``k`` extra atoms). Returns ``ase.Atoms``."""
    if len(kind) != 2 or kind[0] not in "VI" or not kind[1].isdigit() or int(kind[1]) < 1:
        raise ValueError(f"defect kind {kind!r}: use 'V1'..'V4' or 'I1'..'I4'")
    k = int(kind[1])
    at = bcc_supercell(a0, n, strain)
    length = at.cell[0, 0]
    sites = _compact_sites(at.positions, length, k, rng, shell=1.01 * a0 * (1 + strain))
    if kind[0] == "V":
        del at[list(sites)]
        at.positions += rng.normal(0.0, 0.02, at.positions.shape)  # break symmetries (no saddle traps)
        return at
    dirs = _DUMBBELL_DIRS[rng.integers(3, size=k)] * rng.choice([-1.0, 1.0], size=(k, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    half = 0.35 * a0 * dirs * (1 + strain)
    centre = at.positions[sites].copy()
    at.positions[sites] = centre - half
    from ase import Atoms
    at += Atoms("Fe" * k, positions=centre + half)
    at.positions += rng.normal(0.0, 0.02, at.positions.shape)  # break symmetries (no saddle traps)
    at.wrap()
    return at


def make_frenkel_pairs(atoms, n_pairs: int, rng: np.random.Generator, a0: float, separation: float = 1.6):
    """Add ``n_pairs`` Frenkel pairs to a cubic bcc cell (before relaxation): remove ``n_pairs`` random atoms
    (vacancies) and turn ``n_pairs`` random atoms at least ``separation * a0`` from every vacancy into
    dumbbells of random orientation (interstitials), so that not all pairs recombine on relaxation.
    Returns a new ``ase.Atoms``; raises if the cell is too small to hold the pairs apart."""
    from ase import Atoms
    at = atoms.copy()
    length = float(at.cell[0, 0])
    vac = rng.choice(len(at), size=n_pairs, replace=False)
    d = at.positions[:, None, :] - at.positions[vac][None, :, :]
    d -= length * np.round(d / length)
    far = np.flatnonzero(np.sqrt((d ** 2).sum(-1)).min(1) > separation * a0)
    if len(far) < n_pairs:
        raise ValueError(f"cell of {length:.1f} A too small for {n_pairs} Frenkel pairs {separation} a0 apart: "
                         "use a larger cell or fewer pairs")
    sites = rng.choice(far, size=n_pairs, replace=False)
    dirs = _DUMBBELL_DIRS[rng.integers(3, size=n_pairs)] * rng.choice([-1.0, 1.0], size=(n_pairs, 3))
    half = 0.35 * a0 * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    centre = at.positions[sites].copy()
    at.positions[sites] = centre - half
    at += Atoms("Fe" * n_pairs, positions=centre + half)
    del at[list(vac)]
    at.positions += rng.normal(0.0, 0.02, at.positions.shape)
    at.wrap()
    return at


def wigner_seitz(atoms, a0: float, n: int, strain: float = 0.0):
    """Wigner-Seitz defect analysis against the perfect lattice of the same cell.

    Each atom is assigned to its nearest lattice site (periodic k-d tree, ``scipy.spatial.cKDTree``).
    Returns ``(vacancy_sites (V, 3), interstitial_positions (I, 3))``: empty sites, and the atoms of sites
    holding more than one atom (all of them: a dumbbell counts as 2 positions for 1 extra atom).
    """
    from scipy.spatial import cKDTree
    sites = _lattice_sites(a0, n, strain)
    length = float(atoms.cell[0, 0])
    tree = cKDTree(np.mod(sites, length), boxsize=length)
    _, idx = tree.query(np.mod(atoms.positions, length))
    occ = np.bincount(idx, minlength=len(sites))
    multi = occ[idx] > 1
    return sites[occ == 0], atoms.positions[multi]


def defect_moments(atoms, a0: float, n: int, strain: float = 0.0) -> np.ndarray:
    """Principal moments of inertia (A^2, unit masses, ascending, ``(3,)``) of the defect positions
    (vacant sites and multiply-occupied sites' atoms), unwrapped around the first one by minimum image."""
    vac, inter = wigner_seitz(atoms, a0, n, strain)
    pts = np.concatenate([vac, inter])
    if len(pts) == 0:
        return np.zeros(3)
    length = float(atoms.cell[0, 0])
    d = pts - pts[0]
    d -= length * np.round(d / length)
    d -= d.mean(0)
    inertia = (d ** 2).sum() * np.eye(3) - d.T @ d
    return np.linalg.eigvalsh(inertia)


def duplicates(energies, moments, e_tol: float = 1e-2, m_tol: float = 1e-2) -> np.ndarray:
    """Boolean mask of configurations equivalent to an earlier one (thesis 3.3.1): energies (eV) within
    ``e_tol`` and principal moments (A^2, ``(M, 3)``) within ``m_tol``. Vectorised pairwise comparison."""
    e = np.asarray(energies, dtype=float)
    m = np.asarray(moments, dtype=float).reshape(len(e), -1)
    same = (np.abs(e[:, None] - e[None, :]) < e_tol) & (np.abs(m[:, None] - m[None, :]).max(-1) < m_tol)
    return np.tril(same, k=-1).any(1)


class _BulkReference:
    """Hessian eigenvalues of the perfect cell, cached per (n, strain)."""

    def __init__(self, potential, a0):
        self.potential, self.a0, self._cache = potential, a0, {}

    def __call__(self, n, strain):
        key = (n, round(strain, 6))
        if key not in self._cache:
            self._cache[key] = hessian_eigenvalues(bcc_supercell(self.a0, n, strain), self.potential)
        return self._cache[key]


def _record(atoms, kind, n, strain, energy, potential, bulk, a0, source):
    ev = hessian_eigenvalues(atoms, potential)
    chk = check_minimum(ev)
    n_b = 2 * n ** 3
    s = formation_entropy(ev, len(atoms), bulk(n, strain), n_b, potential.mass) if chk.is_minimum else np.nan
    vac, inter = wigner_seitz(atoms, a0, n, strain)
    return dict(atoms=atoms, kind=kind, n_cells=n, strain=strain, energy=energy,
                e_form=energy - len(atoms) / n_b * float(potential.energy(bcc_supercell(a0, n, strain))),
                entropy=s, is_minimum=chk.is_minimum, n_zero=chk.n_zero, n_negative=chk.n_negative,
                n_vac=len(vac), n_int=len(atoms) - n_b + len(vac), source=source,
                moments=defect_moments(atoms, a0, n, strain))


def _relaxed_record(at, kind, n, strain, pot, bulk, a0, source, fmax, rng, retries=2, counts=None):
    """Relax and evaluate; a saddle point (negative modes) is shaken by 0.05 A and relaxed again
    (``counts["saddle"]`` counts these non-minima)."""
    for attempt in range(retries + 1):
        at, ok, e = relax(at, pot, fmax)
        if not ok:
            return None
        rec = _record(at, kind, n, strain, e, pot, bulk, a0, source)
        if not rec["is_minimum"] and counts is not None:
            counts["saddle"] = counts.get("saddle", 0) + 1
        if rec["is_minimum"] or attempt == retries:
            return rec
        at = at.copy()
        at.positions += rng.normal(0.0, 0.05, at.positions.shape)


def build_database(potential: str = "AM04", cells=(4,), tries: int = 6, kinds=KINDS,
                   strains=(-0.01, 0.0, 0.01, 0.02, 0.03), strain_cells=(4,), random_cells=(5,),
                   n_random: int = 6, frenkel=(3, 8), seed: int = 0, fmax: float = 1e-4,
                   device="cpu", progress: bool = True) -> dict:
    """Generate, relax, deduplicate and evaluate defect configurations; returns :func:`save_database` input.

    ``cells``: supercell sizes n (``2 n^3`` atoms) for the unstrained crystalline set, ``tries`` random
    starts per kind and size; ``strains``: isotropic strains applied to the unique configurations of the
    ``strain_cells`` sizes (re-relaxed at the strained cell); ``n_random`` cells of ``random_cells`` sizes
    holding ``frenkel`` = (lo, hi) random Frenkel pairs added to a random I/V cluster. Every record keeps
    the minimum check (zero / negative mode counts); non-minima get ``entropy = nan`` and are counted.
    """
    from tqdm.auto import tqdm
    pot = load_potential(potential, device=device)
    a0 = lattice_parameter(pot)
    bulk = _BulkReference(pot, a0)
    rng = np.random.default_rng(seed)
    records, rejected = [], dict(unconverged=0, duplicate=0)
    jobs = [(k, n) for n in cells for k in kinds for _ in range(tries)]
    for kind, n in tqdm(jobs, desc="defects", disable=not progress):
        rec = _relaxed_record(make_defect(kind, a0, n, rng), kind, n, 0.0, pot, bulk, a0, "crystal", fmax, rng, counts=rejected)
        if rec is None:
            rejected["unconverged"] += 1
            continue
        records.append(rec)
    # deduplicate within (kind, n)
    keep = []
    for key in sorted({(r["kind"], r["n_cells"]) for r in records}):
        group = [r for r in records if (r["kind"], r["n_cells"]) == key]
        dup = duplicates([r["energy"] for r in group], [r["moments"] for r in group])
        rejected["duplicate"] += int(dup.sum())
        keep += [r for r, d in zip(group, dup) if not d]
    records = keep
    strained = []
    todo = [(r, eps) for r in records if r["is_minimum"] and r["n_cells"] in strain_cells for eps in strains if eps != 0.0]
    for r, eps in tqdm(todo, desc="strained copies", disable=not progress):
        at = r["atoms"].copy()
        at.set_cell(at.cell[:] * (1 + eps), scale_atoms=True)
        rec = _relaxed_record(at, r["kind"], r["n_cells"], eps, pot, bulk, a0, "crystal", fmax, rng, counts=rejected)
        if rec is None:
            rejected["unconverged"] += 1
            continue
        strained.append(rec)
    randoms = []
    for t in tqdm(range(n_random * len(random_cells)), desc="random", disable=not progress):
        n = random_cells[t % len(random_cells)]
        start = make_defect(str(rng.choice(["V", "I"])) + str(int(rng.integers(1, 5))), a0, n, rng)
        at = make_frenkel_pairs(start, int(rng.integers(frenkel[0], frenkel[1] + 1)), rng, a0)
        rec = _relaxed_record(at, "random", n, 0.0, pot, bulk, a0, "random", fmax, rng, counts=rejected)
        if rec is None:
            rejected["unconverged"] += 1
            continue
        randoms.append(rec)
    return dict(records=records + strained + randoms, potential=potential, a0=a0, rejected=rejected,
                seed=seed, fmax=fmax)


_FIELDS = ("kind", "n_cells", "strain", "energy", "e_form", "entropy", "is_minimum", "n_zero", "n_negative",
           "n_vac", "n_int", "source")


def save_database(db: dict, path) -> str:
    """Write a database (from :func:`build_database`) to a compressed ``.npz``; returns its SHA-256.

    Positions are stored in float32 (1e-6 A rounding, far below any descriptor's resolution); cells are cubic.
    """
    from localbook.data import file_sha256
    recs = db["records"]
    arrays = {f: np.array([r[f] for r in recs]) for f in _FIELDS}
    arrays["n_atoms"] = np.array([len(r["atoms"]) for r in recs])
    arrays["cell_length"] = np.array([r["atoms"].cell[0, 0] for r in recs])
    arrays["positions"] = np.concatenate([r["atoms"].positions for r in recs]).astype(np.float32)
    meta = dict(potential=db["potential"], a0=db["a0"], rejected=db["rejected"], seed=db["seed"],
                fmax=db["fmax"], units="A, eV, k_B")
    np.savez_compressed(path, meta=json.dumps(meta), **arrays)
    return file_sha256(path)


def load_database(path) -> dict:
    """Read a database ``.npz``: a dict of arrays (one row per configuration) plus ``meta`` (dict)."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    out["meta"] = json.loads(str(out["meta"]))
    return out


def database_atoms(db: dict) -> list:
    """The configurations of a loaded database as a list of periodic ``ase.Atoms``."""
    from ase import Atoms
    ends = np.cumsum(db["n_atoms"])
    pos = np.split(db["positions"].astype(np.float64), ends[:-1])
    return [Atoms("Fe" * len(p), positions=p, cell=np.eye(3) * L, pbc=True)
            for p, L in zip(pos, db["cell_length"])]


def _main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m localbook.atoms.defects",
                                 description="Build a bcc-Fe defect database with harmonic formation entropies.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--potential", default="AM04", choices=["AM04", "M03"])
    b.add_argument("--out", required=True)
    b.add_argument("--cells", type=int, nargs="+", default=[4], help="supercell sizes n (2 n^3 atoms)")
    b.add_argument("--tries", type=int, default=6, help="random starts per defect kind and size")
    b.add_argument("--strains", type=float, nargs="+", default=[-0.01, 0.0, 0.01, 0.02, 0.03])
    b.add_argument("--strain-cells", type=int, nargs="*", default=[4])
    b.add_argument("--random-cells", type=int, nargs="*", default=[5])
    b.add_argument("--n-random", type=int, default=6)
    b.add_argument("--frenkel", type=int, nargs=2, default=[3, 8], help="range of Frenkel pairs per random cell")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--fmax", type=float, default=1e-4)
    b.add_argument("--device", default="cpu")
    b.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    db = build_database(a.potential, tuple(a.cells), a.tries, KINDS, tuple(a.strains), tuple(a.strain_cells),
                        tuple(a.random_cells), a.n_random, tuple(a.frenkel), seed=a.seed, fmax=a.fmax, device=a.device,
                        progress=not a.no_progress)
    sha = save_database(db, Path(a.out))
    ok = sum(r["is_minimum"] for r in db["records"])
    print(f"{len(db['records'])} configurations ({ok} minima), rejected {db['rejected']}, "
          f"{time.time() - t0:.0f} s -> {a.out} sha256 {sha}")


if __name__ == "__main__":
    _main()
