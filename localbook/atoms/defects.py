"""Point-defect configurations in bcc iron (thesis section 3.3.1): generation, Wigner-Seitz analysis, duplicates.

Structures are ``ase.Atoms`` in cubic periodic supercells of ``n x n x n`` conventional bcc cells
(``2 n^3`` atoms). Defects: vacancy clusters V1-V4 (atoms removed from a compact random set of sites) and
self-interstitial clusters I1-I4 (random dumbbells on neighbouring sites), relaxed at fixed cell, identified
by a Wigner-Seitz analysis and deduplicated (energies within 1e-2 eV and equal principal moments of inertia of
the defect, thesis 3.3.1); "random" cells hold many Frenkel pairs. The thesis generated its configurations
with ART nouveau (not available here): random placement + relaxation finds fewer, mostly low-energy,
configurations. The database built from them is :mod:`localbook.atoms.defect_database`.

Units: A, eV.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bcc_supercell", "lattice_parameter", "relax", "vacancy_formation_energy", "make_defect",
           "make_frenkel_pairs", "site_occupancy", "wigner_seitz", "defect_moments", "duplicates", "vacancy_entropy",
           "KINDS"]

KINDS = ("V1", "V2", "V3", "V4", "I1", "I2", "I3", "I4")
_DUMBBELL_DIRS = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=float)


def bcc_supercell(a0: float, n: int, strain: float = 0.0):
    """Perfect bcc iron, cubic cell of side ``n a0 (1 + strain)`` (A), ``2 n^3`` atoms, periodic."""
    from ase.build import bulk
    if n < 1:
        raise ValueError(f"n={n}: the supercell needs at least one conventional cell per side")
    return bulk("Fe", "bcc", a=a0 * (1 + strain), cubic=True).repeat(n)


def lattice_parameter(potential) -> float:
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


def vacancy_formation_energy(potential, n: int = 4, a0: float | None = None) -> float:
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


def make_defect(kind: str, a0: float, n: int, rng: np.random.Generator, strain: float = 0.0, shell: float = 1.01):
    """An unrelaxed defect: ``"V<k>"`` removes ``k`` atoms on a compact random set of sites (each within
    ``shell * a0`` of another: 1.01 reaches the second-neighbour shell, 1.42 the third); ``"I<k>"`` replaces
    ``k`` such atoms by dumbbells of random <110>, <100> or <111> orientation and sign (``k`` extra atoms).
    Returns ``ase.Atoms``."""
    if len(kind) != 2 or kind[0] not in "VI" or not kind[1].isdigit() or int(kind[1]) < 1:
        raise ValueError(f"defect kind {kind!r}: use 'V1'..'V4' or 'I1'..'I4'")
    k = int(kind[1])
    at = bcc_supercell(a0, n, strain)
    length = at.cell[0, 0]
    sites = _compact_sites(at.positions, length, k, rng, shell=shell * a0 * (1 + strain))
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


def site_occupancy(atoms, a0: float, n: int, strain: float = 0.0) -> np.ndarray:
    """Number of atoms assigned to each lattice site of the perfect cell (Wigner-Seitz, nearest site), ``(2 n^3,)``:
    0 a vacancy, 2 a dumbbell. Sites keep their index under a homogeneous strain, so two relaxations of one
    defect at different strains hold the same defect exactly when their occupancies are equal."""
    from scipy.spatial import cKDTree
    sites = _lattice_sites(a0, n, strain)
    length = float(atoms.cell[0, 0])
    _, idx = cKDTree(np.mod(sites, length), boxsize=length).query(np.mod(atoms.positions, length))
    return np.bincount(idx, minlength=len(sites))


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
    (vacant sites and multiply-occupied sites' atoms).

    The points are unwrapped one at a time, each by minimum image relative to the nearest point already
    unwrapped (a greedy walk through the cluster), so that a cluster that straddles the cell boundary or spans
    more than half the cell keeps its shape; unwrapping every point relative to the first one would cut such a
    cluster in two and give equivalent configurations different moments.
    """
    vac, inter = wigner_seitz(atoms, a0, n, strain)
    pts = np.concatenate([vac, inter])
    if len(pts) == 0:
        return np.zeros(3)
    length = float(atoms.cell[0, 0])
    placed, todo = [pts[0]], list(range(1, len(pts)))
    while todo:
        d = pts[todo][:, None, :] - np.array(placed)[None, :, :]
        d -= length * np.round(d / length)
        dist = np.sqrt((d ** 2).sum(-1))
        k, j = np.unravel_index(np.argmin(dist), dist.shape)
        placed.append(placed[j] + d[k, j])
        todo.pop(k)
    d = np.array(placed) - np.mean(placed, axis=0)
    inertia = (d ** 2).sum() * np.eye(3) - d.T @ d
    return np.linalg.eigvalsh(inertia)


def duplicates(energies, moments, e_tol: float = 1e-2, m_tol: float = 1e-2) -> np.ndarray:
    """Boolean mask of configurations equivalent to an earlier one (thesis 3.3.1): energies (eV) within
    ``e_tol`` and principal moments (A^2, ``(M, 3)``) within ``m_tol``. Vectorised pairwise comparison."""
    e = np.asarray(energies, dtype=float)
    m = np.asarray(moments, dtype=float).reshape(len(e), -1)
    same = (np.abs(e[:, None] - e[None, :]) < e_tol) & (np.abs(m[:, None] - m[None, :]).max(-1) < m_tol)
    return np.tril(same, k=-1).any(1)


def vacancy_entropy(potential, a0: float, n: int, seed: int = 0, fmax: float = 1e-6) -> dict:
    """The worked example of thesis 3.2: a monovacancy in the ``n^3`` cubic cell, relaxed, verified and its
    harmonic formation entropy (eq. 3.3) against the perfect cell of the same volume.

    Returns ``{"entropy_kb", "formation_energy_ev", "converged", "check" (MinimumCheck), "eigenvalues_bulk",
    "eigenvalues_vacancy" (eV/A^2), "atoms" (the relaxed cell)}``; ``potential`` any object with ``relax``,
    ``hessian``, ``energy``, ``mass``.
    """
    from localbook.atoms.entropy import check_minimum, formation_entropy, hessian_eigenvalues
    bulk = bcc_supercell(a0, n)
    vac = bulk.copy()
    del vac[0]
    vac.positions += np.random.default_rng(seed).normal(0.0, 0.01, vac.positions.shape)   # no symmetric saddle
    vac, converged, e = potential.relax(vac, fmax=fmax)
    ev_b, ev_v = hessian_eigenvalues(bulk, potential), hessian_eigenvalues(vac, potential)
    chk = check_minimum(ev_v, potential.zero_tol)
    s = formation_entropy(ev_v, len(vac), ev_b, len(bulk), potential.mass, potential.zero_tol) if chk.is_minimum \
        else float("nan")
    return dict(entropy_kb=s, formation_energy_ev=e - len(vac) / len(bulk) * float(potential.energy(bulk)),
                converged=converged, check=chk, eigenvalues_bulk=ev_b, eigenvalues_vacancy=ev_v, atoms=vac)
