"""The QM9 loader (localbook.data.qm9): counts, known molecules, atomization energies, subsets, malformed rows."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from localbook.data import qm9

needs_qm9pack = pytest.mark.skipif(importlib.util.find_spec("qm9pack") is None,
                                   reason="PyPI qm9pack (the QM9 CSV files) is not installed")

HA = 627.5095  # kcal/mol, the conversion
REF = {"H": -0.500273, "C": -37.846772, "N": -54.583861, "O": -75.064579, "F": -99.718730}  # the atomic U0


def _expected_kcal(u0, counts):
    return (u0 - sum(REF[s] * c for s, c in counts.items())) * HA


def test_atomization_energy_by_hand():
    # two molecules packed one after the other: CH4 and H2O, with their QM9 U0 values (Hartree)
    numbers = np.array([6, 1, 1, 1, 1, 8, 1, 1])
    e = qm9.atomization_energy_kcal_mol([-40.47893, -76.404702], numbers, [0, 5, 8])
    np.testing.assert_allclose(e, [_expected_kcal(-40.47893, {"C": 1, "H": 4}),
                                   _expected_kcal(-76.404702, {"O": 1, "H": 2})], rtol=1e-12)
    np.testing.assert_allclose(e, [-396.0, -213.09], atol=0.01)


def test_atomization_energy_rejects_bad_input():
    with pytest.raises(ValueError, match="H, C, N, O, F"):
        qm9.atomization_energy_kcal_mol([-1.0], [6, 16], [0, 2])  # sulphur
    with pytest.raises(ValueError, match="offsets"):
        qm9.atomization_energy_kcal_mol([-1.0, -2.0], [6, 1], [0, 2])
    with pytest.raises(ValueError, match="at least one atom"):
        qm9.atomization_energy_kcal_mol([-1.0, -2.0], [6, 1], [0, 2, 2])


@needs_qm9pack
def test_count_is_qm9pack_size():
    assert qm9.count_molecules() == qm9.N_MOLECULES == 130_831


@needs_qm9pack
def test_known_molecules():
    m = qm9.load_qm9_molecules(ids=[1, 3, 2, 133885])  # methane, water, ammonia, the last molecule of QM9
    assert m.qm9_id.tolist() == [1, 3, 2, 133885]
    assert [a.get_chemical_formula() for a in m.atoms[:3]] == ["CH4", "H2O", "H3N"]
    assert m.n_atoms[:3].tolist() == [5, 3, 4]
    assert m.n_heavy_atoms[:3].tolist() == [1, 1, 1]
    assert m.smiles[:3].tolist() == ["C", "O", "N"]
    np.testing.assert_allclose(m.u0_hartree[:3], [-40.47893, -76.404702, -56.525887])
    np.testing.assert_allclose(m.atomization_energy_kcal_mol[:2],
                               [_expected_kcal(-40.47893, {"C": 1, "H": 4}),
                                _expected_kcal(-76.404702, {"O": 1, "H": 2})], rtol=1e-12)
    # geometry: the C-H bonds of methane are 1.09 A, the O-H bonds of water 0.96 A
    ch4, h2o = m.atoms[0], m.atoms[1]
    np.testing.assert_allclose(ch4.get_distances(0, [1, 2, 3, 4]), 1.0919, atol=1e-3)
    np.testing.assert_allclose(h2o.get_distances(0, [1, 2]), 0.9614, atol=1e-3)
    assert ch4.info["qm9_id"] == 1 and ch4.info["atomization_energy_kcal_mol"] == m.atomization_energy_kcal_mol[0]
    # the packed arrays agree with the Atoms
    np.testing.assert_array_equal(m.numbers[m.offsets[1]:m.offsets[2]], h2o.numbers)
    np.testing.assert_array_equal(m.positions_angstrom[m.offsets[1]:m.offsets[2]], h2o.positions)
    assert set(m.properties) == set(qm9.SCALAR_COLUMNS)
    assert m.properties["Dipole_debye"][1] == pytest.approx(1.8511)


@needs_qm9pack
def test_seeded_subset():
    a = qm9.load_qm9_molecules(n=50, seed=3)
    b = qm9.load_qm9_molecules(n=50, seed=3, as_atoms=False)
    c = qm9.load_qm9_molecules(n=50, seed=4, as_atoms=False)
    assert len(a) == 50 and len(a.atoms) == 50 and b.atoms == []
    np.testing.assert_array_equal(a.qm9_id, b.qm9_id)
    np.testing.assert_array_equal(a.positions_angstrom, b.positions_angstrom)
    assert not np.array_equal(a.qm9_id, c.qm9_id)
    assert np.all(np.diff(a.qm9_id) > 0)  # returned in QM9 order
    assert a.n_atoms.sum() == len(a.numbers) == len(a.positions_angstrom)
    assert set(np.unique(a.numbers)) <= {1, 6, 7, 8, 9}
    assert a.n_heavy_atoms.max() <= 9
    # every molecule of QM9 is bound: negative atomization energies of a few hundred to a few thousand kcal/mol
    assert np.all((a.atomization_energy_kcal_mol < -100) & (a.atomization_energy_kcal_mol > -4000))
    # the same molecule loaded by id is identical
    one = qm9.load_qm9_molecules(ids=[int(a.qm9_id[7])])
    np.testing.assert_array_equal(one.positions_angstrom, a.atoms[7].positions)
    assert one.atomization_energy_kcal_mol[0] == a.atomization_energy_kcal_mol[7]
    s = a.subset([7, 2])
    assert s.qm9_id.tolist() == [a.qm9_id[7], a.qm9_id[2]]
    np.testing.assert_array_equal(s.positions_angstrom[s.offsets[1]:], a.atoms[2].positions)
    assert "50 QM9 molecules" in a.summary()


@needs_qm9pack
def test_bad_selection():
    with pytest.raises(ValueError, match="n must be an integer in"):
        qm9.load_qm9_molecules(n=0)
    with pytest.raises(ValueError, match="n must be an integer in"):
        qm9.load_qm9_molecules(n=200_000)
    with pytest.raises(ValueError, match="not both"):
        qm9.load_qm9_molecules(n=3, ids=[1])
    with pytest.raises(KeyError, match="not in the data"):
        qm9.load_qm9_molecules(ids=[1, 999_999])


def _small_copy(tmp_path: Path, rows_per_file: int = 3) -> Path:
    """The header and the first rows of each of qm9pack's files, in ``tmp_path``."""
    src = qm9._data_dir(None)
    for name in qm9.QM9_FILES:
        with open(src / name, encoding="utf-8") as f:
            lines = [next(f) for _ in range(rows_per_file + 1)]
        (tmp_path / name).write_text("".join(lines), encoding="utf-8")
    return tmp_path


@needs_qm9pack
def test_small_copy_loads(tmp_path):
    path = _small_copy(tmp_path)
    m = qm9.load_qm9_molecules(path=path)
    assert len(m) == 9 and qm9.count_molecules(path) == 9
    assert m.qm9_id[:3].tolist() == [1, 2, 3]


@needs_qm9pack
@pytest.mark.parametrize("corrupt, message", [
    (lambda line: line.replace("'C','H','H','H','H'", "'C','H','H','H'"), "Elements lists 4 atoms but N_atoms is 5"),
    (lambda line: line.replace("'C','H'", "'C','Xx'"), "element 'Xx'"),
    (lambda line: line.replace("-0.0126981359", "abc", 1), "coordinate 'abc' is not a number"),
    (lambda line: line.replace(",-40.47893,", ",,"), "InternalEnergy_0K_au '' is not a number"),
    (lambda line: line.replace('"C",', '"C",7,', 1), "26 fields instead of 25"),
])
def test_malformed_row_is_named(tmp_path, corrupt, message):
    path = _small_copy(tmp_path)
    f = path / "qm9_part1.csv"
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith('"dsgdb9nsd_000001.xyz"')
    bad = corrupt(lines[1])
    assert bad != lines[1]
    f.write_text("".join([lines[0], bad, *lines[2:]]), encoding="utf-8")
    qm9.load_qm9_molecules(ids=[2], path=path)  # another row still loads
    with pytest.raises(qm9.QM9FormatError) as err:
        qm9.load_qm9_molecules(path=path)
    text = str(err.value)
    assert "qm9_part1.csv line 2" in text and "dsgdb9nsd_000001.xyz" in text
    assert message in text, text


@needs_qm9pack
def test_not_a_qm9_file(tmp_path):
    path = _small_copy(tmp_path)
    (path / "qm9_part2.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(qm9.QM9FormatError, match=re.escape("qm9_part2.csv line 2")):
        qm9.load_qm9_molecules(ids=[1], path=path)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="qm9_part1.csv"):
        qm9.load_qm9_molecules(n=1, path=tmp_path)


@needs_qm9pack
def test_first_molecules_of_a_part():
    mols = qm9.load_qm9(3)
    assert [m.get_chemical_formula() for m in mols] == ["CH4", "H3N", "H2O"]
    assert mols[0].info["index"] == 1 and mols[0].info["U0_hartree"] == pytest.approx(-40.47893)
    assert qm9.load_qm9(2, part=2)[0].info["index"] == 44747
    with pytest.raises(ValueError, match="part="):
        qm9.load_qm9(3, part=4)
    with pytest.raises(ValueError, match="n="):
        qm9.load_qm9(0)
