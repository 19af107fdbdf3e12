import math

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.units import Bohr, Hartree

from localbook.atoms import mbd
from localbook.atoms.mbd import CARBON_TS


def dimer(r_angstrom):
    return Atoms("C2", positions=[[0, 0, 0], [0, 0, r_angstrom]])


def test_two_atoms_match_the_closed_form():
    r = 3.0
    energy = float(mbd.mbd_energy(dimer(r), r_cut=50.0, cutoff_width=1.0))
    p = CARBON_TS
    rb = r / Bohr
    f = 1 / (1 + math.exp(-6 * (rb / (0.83 * 2 * p.r_vdw) - 1)))
    t = np.array([-2.0, 1.0, 1.0]) / rb**3  # eigenvalues of -(3 rr^T - r^2 I) / r^5
    x = p.alpha0 * f * t
    expected = (0.5 * p.omega * np.sum(np.sqrt(1 + x) + np.sqrt(1 - x)) - 3 * p.omega) * Hartree
    assert energy == pytest.approx(expected, rel=1e-10)


def test_far_apart_atoms_tend_to_the_damped_pairwise_sum():
    for r in (8.0, 12.0):
        e_mbd = float(mbd.mbd_energy(dimer(r), r_cut=50.0, cutoff_width=1.0))
        e_pair = float(mbd.pairwise_dispersion_energy(dimer(r), r_cut=50.0, cutoff_width=1.0))
        assert e_mbd < 0 and e_mbd == pytest.approx(e_pair, rel=1e-3 if r == 8.0 else 1e-4)
    # and the undamped London limit -C6 / r^6 once the Fermi damping is 1
    r = 12.0
    london = -CARBON_TS.c6 / (r / Bohr) ** 6 * Hartree
    assert float(mbd.mbd_energy(dimer(r), r_cut=50.0, cutoff_width=1.0)) == pytest.approx(london, rel=1e-3)


def test_many_body_energy_is_not_pairwise():
    cluster = bulk("C", "diamond", a=3.57, cubic=True).repeat(2)  # 64 atoms
    cluster.pbc = False
    e_mbd, e_pair = float(mbd.mbd_energy(cluster)), float(mbd.pairwise_dispersion_energy(cluster))
    assert e_mbd < 0 and e_pair < 0
    assert abs(e_mbd - e_pair) / abs(e_pair) > 0.02  # measured: 4.5 %
    periodic = bulk("C", "diamond", a=3.57, cubic=True).repeat(2)
    e_mbd, e_pair = float(mbd.mbd_energy(periodic)), float(mbd.pairwise_dispersion_energy(periodic))
    assert abs(e_mbd) < 0.8 * abs(e_pair)  # dense solid: many-body screening (measured: 47 % weaker)


def test_invariances_of_a_cluster():
    rng = np.random.default_rng(0)
    atoms = Atoms("C5", positions=rng.uniform(0, 4, (5, 3)))
    atoms.positions += np.arange(5)[:, None] * 0.6  # keep atoms apart
    e = float(mbd.mbd_energy(atoms))
    moved = atoms.copy()
    moved.rotate(37, "x")
    moved.rotate(12, "z")
    moved.translate([3, -1, 2])
    permuted = atoms[[4, 2, 0, 1, 3]]
    assert float(mbd.mbd_energy(moved)) == pytest.approx(e, rel=1e-10)
    assert float(mbd.mbd_energy(permuted)) == pytest.approx(e, rel=1e-10)


def rattled_diamond(seed=0):
    atoms = bulk("C", "diamond", a=3.9, cubic=True)  # 8 atoms, expanded: ~1.6 g/cm^3
    atoms.rattle(0.1, seed=seed)
    return atoms


def test_periodic_energy_converges_with_the_cutoff():
    atoms = rattled_diamond()
    energies = [float(mbd.mbd_energy(atoms, r_cut=rc, cutoff_width=4.0)) for rc in (15.0, 25.0, 35.0)]
    assert abs(energies[2] - energies[1]) < 2e-3 * len(atoms)  # eV: < 2 meV per atom
    assert abs(energies[2] - energies[1]) < abs(energies[1] - energies[0])


def test_periodic_cell_is_translation_invariant():
    atoms = rattled_diamond()
    shifted = atoms.copy()
    shifted.translate([0.7, -0.3, 1.1])
    shifted.wrap()
    assert float(mbd.mbd_energy(shifted)) == pytest.approx(float(mbd.mbd_energy(atoms)), rel=1e-9)


def brute_force_mbd(atoms, r_cut, width, beta=0.83, d=6.0):
    """Independent reference: explicit loops over atom pairs and images, NumPy only."""
    p = CARBON_TS
    pos = atoms.get_positions() / Bohr
    cell = np.asarray(atoms.cell) / Bohr
    n = len(atoms)
    m = 4
    c = np.zeros((3 * n, 3 * n))
    for i in range(n):
        c[3 * i:3 * i + 3, 3 * i:3 * i + 3] += p.omega**2 * np.eye(3)
        for j in range(n):
            for a in range(-m, m + 1):
                for b in range(-m, m + 1):
                    for k in range(-m, m + 1):
                        rv = pos[i] - pos[j] + a * cell[0] + b * cell[1] + k * cell[2]
                        r = np.linalg.norm(rv)
                        if r < 1e-8 or r > r_cut / Bohr:
                            continue
                        f = 1 / (1 + np.exp(-d * (r / (beta * 2 * p.r_vdw) - 1)))
                        x = min(max((r - (r_cut - width) / Bohr) / (width / Bohr), 0), 1)
                        s = 0.5 * (1 + np.cos(np.pi * x))
                        t = -(3 * np.outer(rv, rv) - r**2 * np.eye(3)) / r**5
                        c[3 * i:3 * i + 3, 3 * j:3 * j + 3] += p.omega**2 * p.alpha0 * f * s * t
    lam = np.linalg.eigvalsh(c)
    return (0.5 * np.sqrt(lam).sum() - 1.5 * n * p.omega) * Hartree


def test_matches_a_brute_force_implementation():
    atoms = bulk("C", "diamond", a=3.9)  # 2-atom primitive fcc cell: non-orthogonal
    atoms.rattle(0.05, seed=1)
    ours = float(mbd.mbd_energy(atoms, r_cut=9.0, cutoff_width=3.0))
    assert ours == pytest.approx(brute_force_mbd(atoms, 9.0, 3.0), rel=1e-10)


def test_clear_errors():
    with pytest.raises(ValueError, match="no MBD parameters for atomic number"):
        mbd.mbd_energy(Atoms("CH", positions=[[0, 0, 0], [0, 0, 3]]))
    with pytest.raises(ValueError, match="polarisation catastrophe"):
        mbd.mbd_energy(dimer(0.3), beta=0.1)
    with pytest.raises(ValueError, match="cutoff_width"):
        mbd.mbd_energy(dimer(2.0), r_cut=3.0, cutoff_width=4.0)


def test_runs_in_float64_on_the_requested_device():
    e, lam = mbd.mbd_energy(dimer(3.0), device="cpu", return_eigenvalues=True)
    assert e.dtype == torch.float64 and lam.shape == (6,)
