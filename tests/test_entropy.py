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
