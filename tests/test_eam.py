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
