"""EAM potentials in torch against ASE's EAM calculator and the published bcc-Fe values."""
import numpy as np
import pytest
import torch

import localbook  # noqa: F401
from localbook.atoms.eam import POTENTIALS, load_potential


def _distorted(n=3, seed=0):
    from ase.build import bulk
    rng = np.random.default_rng(seed)
    at = bulk("Fe", "bcc", 2.86, cubic=True).repeat(n)
    at.set_cell(at.cell[:] @ (np.eye(3) + rng.normal(0, 0.01, (3, 3))), scale_atoms=True)
    at.positions += rng.normal(0, 0.1, at.positions.shape)
    return at


@pytest.mark.parametrize("name", sorted(POTENTIALS))
def test_energy_forces_match_ase(name):
    from ase.calculators.eam import EAM
    pot = load_potential(name)
    for seed in (0, 1):
        at = _distorted(seed=seed)
        ref = at.copy()
        ref.calc = EAM(potential=str(pot.path))
        e, f = pot.energy_forces(at)
        assert abs(float(e) - ref.get_potential_energy()) / len(at) < 1e-6
        assert np.abs(f.numpy() - ref.get_forces()).max() < 1e-5
        # per-atom energies sum to the total
        assert abs(float(pot.energy(at, per_atom=True).sum()) - float(e)) < 1e-9


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_hessian_exact():
    pot = load_potential("AM04")
    at = _distorted(n=3, seed=2)
    h = pot.hessian(at)
    assert h.shape == (3 * len(at), 3 * len(at))
    assert torch.allclose(h, h.T)
    # analytic assembly equals double autograd differentiation
    assert float((h - pot.hessian(at, method="autograd")).abs().max()) < 1e-10
    # and central finite differences of the forces (step 1e-5 A)
    step = 1e-5
    for k in (0, 7, 100):
        p, m = at.copy(), at.copy()
        p.positions[k // 3, k % 3] += step
        m.positions[k // 3, k % 3] -= step
        fd = -(pot.forces(p) - pot.forces(m)).reshape(-1) / (2 * step)
        assert float((fd - h[k]).abs().max()) < 1e-4
    # translation invariance: rows sum to zero over atoms
    assert float(h.reshape(-1, len(at), 3).sum(1).abs().max()) < 1e-9


def test_bad_inputs():
    pot = load_potential("M03")
    at = _distorted()
    at.pbc = False
    with pytest.raises(ValueError, match="periodic"):
        pot.energy(at)
    with pytest.raises(ValueError, match="unknown potential"):
        load_potential("MEAM")
    with pytest.raises(ValueError, match="method"):
        pot.hessian(_distorted(), method="fd")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(POTENTIALS))
def test_fitted_lattice_parameter_and_vacancy_energy(name):
    from localbook.atoms.defects import lattice_parameter, vacancy_formation_energy
    pot = load_potential(name)
    a0 = lattice_parameter(pot)
    assert abs(a0 - POTENTIALS[name]["a0"]) < 1e-3
    assert abs(a0 - pot.a_file) < 1e-4          # the value written in the file header
    e4, e5 = (vacancy_formation_energy(pot, n=n, a0=a0) for n in (4, 5))
    assert abs(e4 - e5) < 0.02                  # converged with the cell size (127 vs 249 atoms)
    assert 1.5 < e5 < 2.0                       # the range of EAM iron potentials fitted to ~1.6-2 eV


@pytest.mark.parametrize("name", sorted(POTENTIALS))
def test_closed_forms_reproduce_every_tabulated_value(name):
    pot = load_potential(name)
    fn = pot.functions
    assert fn.interpolation == "analytic"
    # the table's 10 significant digits leave residuals of ~1e-9: every closed form reproduces it to that
    assert fn.residuals["F"] < 1e-8 and fn.residuals["f"] < 1e-8 and fn.residuals["phi spline"] < 1e-8
    assert fn.residuals["phi exp (relative)"] < 1e-9
    assert 1.95 < fn.r_join < 2.1
    knots = fn.knots()
    # the authors' knots: phi on a 0.1 A grid from 2.2 A, the density at 2.4, 3.2 and 4.2 A
    assert np.allclose(knots["phi"][:, 0], [2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 3.0, 3.3, 3.7, 4.2, 4.7])
    assert np.allclose(knots["f"][:, 0], [2.4, 3.2, 4.2])


@pytest.mark.parametrize("name", sorted(POTENTIALS))
def test_table_and_closed_forms_agree_but_only_one_has_smooth_curvatures(name):
    from localbook.atoms.eam_tables import curvature_noise
    analytic, table = load_potential(name), load_potential(name, interpolation="table")
    at = _distorted(seed=3)
    e_a, f_a = analytic.energy_forces(at)
    e_t, f_t = table.energy_forces(at)
    assert abs(float(e_a - e_t)) / len(at) < 1e-8 and float((f_a - f_t).abs().max()) < 1e-5
    # between two knots (2.5 and 2.6 A) the closed-form curvatures are linear; the interpolant's jump at every
    # table point (5.3e-4 A apart) by the rounding error amplified 1/dr^2: a few 1e-3 eV/A^2
    for g in ("_phi", "_f"):
        assert curvature_noise(getattr(analytic, g), 2.505, 2.595, 5.3e-4) < 1e-9
        assert curvature_noise(getattr(table, g), 2.505, 2.595, 5.3e-4) > 1e-4
    with pytest.raises(ValueError, match="interpolation"):
        load_potential(name, interpolation="linear")
