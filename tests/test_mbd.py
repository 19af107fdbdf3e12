import math

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.lattice.hexagonal import Graphite
from ase.units import Bohr, Hartree
from scipy.integrate import quad_vec
from scipy.special import erf

from localbook.atoms import mbd
from localbook.atoms.mbd import CARBON_TS


def dimer(r_angstrom):
    return Atoms("C2", positions=[[0, 0, 0], [0, 0, r_angstrom]])


def c4_cluster():
    return Atoms("C4", positions=[[0, 0, 0], [1.4, 0, 0], [0, 1.5, 0.2], [0.5, 0.3, 1.6]])


def graphite_cell():
    return Graphite(symbol="C", latticeconstant={"a": 2.46, "c": 6.70})  # 4 atoms, hexagonal (non-orthogonal)


def rattled_diamond(seed=0):
    atoms = bulk("C", "diamond", a=3.9, cubic=True)  # 8 atoms, expanded: ~1.6 g/cm^3
    atoms.rattle(0.1, seed=seed)
    return atoms


# --- plain MBD: closed forms and limits ---------------------------------------------------------------------

def test_two_atoms_match_the_closed_form():
    r = 3.0
    energy = float(mbd.mbd_energy(dimer(r), variant="plain"))
    p = CARBON_TS
    rb = r / Bohr
    f = 1 / (1 + math.exp(-6 * (rb / (0.83 * 2 * p.r_vdw) - 1)))
    t = np.array([-2.0, 1.0, 1.0]) / rb**3  # eigenvalues of -(3 rr^T - r^2 I) / r^5
    x = p.alpha0 * f * t
    expected = (0.5 * p.omega * np.sum(np.sqrt(1 + x) + np.sqrt(1 - x)) - 3 * p.omega) * Hartree
    assert energy == pytest.approx(expected, rel=1e-10)


def test_far_apart_atoms_tend_to_the_damped_pairwise_sum_and_are_not_screened():
    for r in (8.0, 12.0):
        e_mbd = float(mbd.mbd_energy(dimer(r), variant="plain"))
        e_pair = float(mbd.pairwise_dispersion_energy(dimer(r)))
        assert e_mbd < 0 and e_mbd == pytest.approx(e_pair, rel=1e-3 if r == 8.0 else 1e-4)
    # and the undamped London limit -C6 / r^6 once the Fermi damping is 1
    r = 12.0
    london = -CARBON_TS.c6 / (r / Bohr) ** 6 * Hartree
    assert float(mbd.mbd_energy(dimer(r), variant="plain")) == pytest.approx(london, rel=1e-3)
    # the screening is short-ranged: 12 Å apart, MBD@rsSCS is plain MBD; 1.5 Å apart it is not
    assert float(mbd.mbd_energy(dimer(r))) == pytest.approx(float(mbd.mbd_energy(dimer(r), variant="plain")),
                                                             rel=1e-8)
    assert abs(float(mbd.mbd_energy(dimer(1.5))) / float(mbd.mbd_energy(dimer(1.5), variant="plain")) - 1) > 0.05


def test_an_isolated_atom_keeps_its_free_parameters():
    scs = mbd.screened_parameters(Atoms("C", positions=[[0, 0, 0]]))
    for name in ("alpha0", "c6", "r_vdw", "omega"):
        assert float(scs[name][0]) == pytest.approx(getattr(CARBON_TS, name), rel=1e-12)


def test_many_body_energy_is_not_pairwise():
    cluster = bulk("C", "diamond", a=3.57, cubic=True).repeat(2)  # 64 atoms
    cluster.pbc = False
    e_mbd, e_pair = float(mbd.mbd_energy(cluster, variant="plain")), float(mbd.pairwise_dispersion_energy(cluster))
    assert e_mbd < 0 and e_pair < 0
    assert abs(e_mbd - e_pair) / abs(e_pair) > 0.02  # measured: 4.5 %
    periodic = bulk("C", "diamond", a=3.57, cubic=True).repeat(2)
    e_mbd, e_pair = float(mbd.mbd_energy(periodic, variant="plain")), float(mbd.pairwise_dispersion_energy(periodic))
    assert abs(e_mbd) < 0.8 * abs(e_pair)  # dense solid: many-body screening
    # the rsSCS screening lowers the polarisability of every atom of the dense solid
    ratio = mbd.screened_parameters(periodic)["alpha0"] / CARBON_TS.alpha0
    assert bool((ratio < 0.95).all())


# --- building blocks --------------------------------------------------------------------------------------

def test_gaussian_dipole_tensor_is_minus_the_hessian_of_erf_r_over_r():
    rng = np.random.default_rng(0)
    rvec = rng.normal(size=(5, 3)) * 2.0
    sigma = 1.3

    def phi(x):
        r = np.linalg.norm(x)
        return erf(r / sigma) / r

    h = 1e-4
    eye = np.eye(3) * h
    fd = np.array([[[-(phi(v + eye[a] + eye[b]) - phi(v + eye[a] - eye[b]) - phi(v - eye[a] + eye[b])
                       + phi(v - eye[a] - eye[b])) / (4 * h * h) for b in range(3)] for a in range(3)]
                   for v in rvec])
    ours = mbd.dipole_tensor_gaussian(torch.as_tensor(rvec), sigma).numpy()
    assert np.allclose(ours, fd, rtol=1e-6, atol=1e-8)
    far = torch.tensor([[0.0, 0.0, 30.0]], dtype=torch.float64)
    assert torch.allclose(mbd.dipole_tensor_gaussian(far, sigma), mbd.dipole_tensor_bare(far), rtol=1e-12)


def test_frequency_grid_integrates_the_free_atom_casimir_polder_integral():
    p = CARBON_TS
    u, w = mbd.frequency_grid(15)
    c6 = 3 / math.pi * float((w * (p.alpha0 / (1 + (u / p.omega) ** 2)) ** 2).sum())
    assert c6 == pytest.approx(p.c6, rel=1e-12)
    with pytest.raises(ValueError, match="nodes"):
        mbd.frequency_grid(0)


# --- MBD@rsSCS against independent references --------------------------------------------------------------

def brute_force_rsscs_cluster(atoms, beta=0.83, d=6.0):
    """Independent reference for a cluster, NumPy loops written from the equations: T^GG by finite differences
    of the potential erf(r / sigma) / r, the Casimir-Polder integral by adaptive quadrature (scipy quad_vec)."""
    p = CARBON_TS
    pos = atoms.get_positions() / Bohr
    n = len(atoms)
    h = 1e-4
    eye = np.eye(3)

    def t_gg(rv, sigma):
        def phi(x):
            r = np.linalg.norm(x)
            return erf(r / sigma) / r
        return np.array([[-(phi(rv + h * eye[a] + h * eye[b]) - phi(rv + h * eye[a] - h * eye[b])
                            - phi(rv - h * eye[a] + h * eye[b]) + phi(rv - h * eye[a] - h * eye[b])) / (4 * h * h)
                          for b in range(3)] for a in range(3)])

    def fermi(r):
        return 1 / (1 + np.exp(-d * (r / (beta * 2 * p.r_vdw) - 1)))

    def alpha_scs(u):
        a = p.alpha0 / (1 + (u / p.omega) ** 2)
        sigma = np.sqrt(2) * (np.sqrt(2 / np.pi) * a / 3) ** (1 / 3)
        m = np.eye(3 * n) / a
        for i in range(n):
            for j in range(n):
                if i != j:
                    rv = pos[i] - pos[j]
                    m[3 * i:3 * i + 3, 3 * j:3 * j + 3] += (1 - fermi(np.linalg.norm(rv))) * t_gg(rv, sigma)
        inv = np.linalg.inv(m)
        return np.array([np.trace(sum(inv[3 * i:3 * i + 3, 3 * j:3 * j + 3] for j in range(n))) / 3
                         for i in range(n)])

    alpha0 = alpha_scs(0.0)
    c6 = 3 / np.pi * quad_vec(lambda u: alpha_scs(u) ** 2, 0, np.inf, epsrel=1e-7)[0]
    omega = 4 * c6 / (3 * alpha0**2)
    r_vdw = p.r_vdw * (alpha0 / p.alpha0) ** (1 / 3)
    c = np.diag(np.repeat(omega**2, 3))
    for i in range(n):
        for j in range(n):
            if i != j:
                rv = pos[i] - pos[j]
                r = np.linalg.norm(rv)
                f = 1 / (1 + np.exp(-d * (r / (beta * (r_vdw[i] + r_vdw[j])) - 1)))
                t = -(3 * np.outer(rv, rv) - r**2 * eye) / r**5
                c[3 * i:3 * i + 3, 3 * j:3 * j + 3] = omega[i] * omega[j] * np.sqrt(alpha0[i] * alpha0[j]) * f * t
    lam = np.linalg.eigvalsh(c)
    return (0.5 * np.sqrt(lam).sum() - 1.5 * omega.sum()) * Hartree


def test_rsscs_matches_a_brute_force_reference_on_small_clusters():
    for atoms in (c4_cluster(), dimer(1.45)):
        assert float(mbd.mbd_energy(atoms)) == pytest.approx(brute_force_rsscs_cluster(atoms), rel=1e-6)


# pymbd 0.15.0's energies (libMBD's NumPy reference: rsSCS screening with nfreq=60, Ewald summation for cells),
# stored with their structures in localbook/atoms/data/carbon_mbd_reference.json by
# `python -m localbook.atoms.mbd reference` in a throw-away environment (PyPI's pymbd metadata is invalid).
REFERENCE_ROWS = mbd.reference_comparison()


@pytest.mark.parametrize("row", REFERENCE_ROWS, ids=lambda r: f"{r['structure']}-{r['variant']}")
def test_matches_pymbd_reference_values(row):
    # measured: within 1.6e-7 relative and 7e-8 eV, from the Ewald and screening-range tolerances
    assert row["ours"] == pytest.approx(row["pymbd"], rel=3e-7, abs=1e-8)


def test_reference_covers_clusters_cells_and_liquid_carbon():
    names = {r["structure"] for r in REFERENCE_ROWS}
    assert {"C4 cluster", "C60", "graphite cell (4 atoms)"} <= names
    assert sum(n.startswith("liquid carbon cell") for n in names) == 2
    assert {r["variant"] for r in REFERENCE_ROWS} == set(mbd.VARIANTS)


def test_matches_pymbd_live():
    pytest.importorskip("pymbd", reason="pymbd: see carbon_mbd_reference.json for how the stored values were made")
    import json

    records = json.loads(mbd.REFERENCE.read_text())["structures"]
    for name in ("C4 cluster", "graphite cell (4 atoms)"):
        atoms = mbd._record_atoms(records[name])
        for variant, stored in records[name]["pymbd_ev"].items():
            assert mbd._pymbd_energy(atoms, variant) == pytest.approx(stored, rel=1e-12)


# --- periodic cells ----------------------------------------------------------------------------------------

def test_ewald_sum_does_not_depend_on_its_splitting():
    atoms = rattled_diamond()
    for variant in ("rsscs", "plain"):
        energies = [float(mbd.mbd_energy(atoms, variant=variant, ewald_cutoff=rc)) for rc in (12.0, 18.0, 26.0)]
        assert np.ptp(energies) < 2e-8  # eV; measured 6e-9, from the 1e-10 tolerance on a ~100 eV zero-point energy


def test_periodic_cell_is_translation_invariant():
    atoms = rattled_diamond()
    shifted = atoms.copy()
    shifted.translate([0.7, -0.3, 1.1])
    shifted.wrap()
    assert float(mbd.mbd_energy(shifted)) == pytest.approx(float(mbd.mbd_energy(atoms)), rel=1e-9)


def test_periodic_pairwise_sum_converges_with_its_cutoff():
    atoms = rattled_diamond()
    e = [float(mbd.pairwise_dispersion_energy(atoms, ewald_cutoff=rc)) for rc in (15.0, 30.0)]
    assert e[1] == pytest.approx(e[0], rel=2e-3)  # the continuum tail makes 15 Å enough


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


def test_dispersion_energies_agree_with_the_single_functions():
    atoms = rattled_diamond(seed=3)
    both = mbd.dispersion_energies(atoms)
    assert both["mbd_rsscs"] == pytest.approx(float(mbd.mbd_energy(atoms)), rel=1e-12)
    assert both["mbd_plain"] == pytest.approx(float(mbd.mbd_energy(atoms, variant="plain")), rel=1e-12)
    assert both["pair_free"] == pytest.approx(float(mbd.pairwise_dispersion_energy(atoms)), rel=1e-12)
    assert both["pair_rsscs"] == pytest.approx(float(mbd.pairwise_dispersion_energy(atoms, variant="rsscs")),
                                               rel=1e-12)
    assert 0.5 < both["alpha_ratio_rsscs"] < 1.0


def test_hirshfeld_ratios_scale_the_free_parameters():
    atoms = dimer(8.0)
    atoms.arrays["hirshfeld_ratio"] = np.array([0.8, 0.8])
    free = mbd.free_parameters(atoms)
    assert float(free["alpha0"][0]) == pytest.approx(0.8 * CARBON_TS.alpha0)
    assert float(free["c6"][0]) == pytest.approx(0.64 * CARBON_TS.c6)
    atoms.arrays["hirshfeld_ratio"] = np.array([0.8, -1.0])
    with pytest.raises(ValueError, match="hirshfeld_ratio"):
        mbd.free_parameters(atoms)


def test_clear_errors():
    with pytest.raises(ValueError, match="no MBD parameters for atomic number"):
        mbd.mbd_energy(Atoms("CH", positions=[[0, 0, 0], [0, 0, 3]]))
    with pytest.raises(ValueError, match="polarisation catastrophe"):
        mbd.mbd_energy(dimer(0.3), variant="plain", beta=0.1)
    with pytest.raises(ValueError, match="variant"):
        mbd.mbd_energy(dimer(2.0), variant="scs")
    slab = rattled_diamond()
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="slab"):
        mbd.mbd_energy(slab)
    with pytest.raises(ValueError, match="ewald_cutoff"):
        mbd.mbd_energy(rattled_diamond(), variant="plain", ewald_cutoff=5.0)


def test_runs_in_float64_on_the_requested_device():
    e, lam = mbd.mbd_energy(dimer(3.0), device="cpu", return_eigenvalues=True)
    assert e.dtype == torch.float64 and lam.shape == (6,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    atoms = rattled_diamond(seed=5)
    cpu = mbd.dispersion_energies(atoms, device="cpu")
    gpu = mbd.dispersion_energies(atoms, device="cuda")
    for key, value in cpu.items():
        assert gpu[key] == pytest.approx(value, rel=1e-9)
