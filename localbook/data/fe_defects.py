"""The bcc-iron defect databases of chapter 04: a compact file format, and the shipped files with their SHA-256.

A database is a ``list[ase.Atoms]`` (cubic periodic cells of ``n_cells^3`` conventional bcc cells, pure Fe)
whose ``info`` holds each configuration's scalar data (``kind``, ``strain``, ``entropy_kb``, ...; see
:mod:`localbook.atoms.defect_database`, which builds them). On disk every atom is stored as the index of its
nearest lattice site of the (strained) perfect cell and its displacement from it in units of 1e-4 A (int16,
rounding <= 5e-5 A, which moves a formation entropy by <= 0.003 k_B); the ``info`` keys are stored as one
column each; ``meta`` (JSON) records the potential, the lattice parameter, the build command, seeds and
rejection counts. ``numpy.savez_compressed``: ~8 bytes per atom before compression.

This module sits at the bottom of the package (it imports numpy, ASE and :mod:`localbook.data` only): the
builder in :mod:`localbook.atoms` writes with :func:`save_defects`, chapters read with :func:`load_fe_defects`.
The shipped files' SHA-256 and rebuild commands are in :mod:`localbook.data.artefacts`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["POSITION_QUANTUM", "POTENTIALS", "shipped_path", "database_path", "save_defects", "load_defects",
           "load_fe_defects", "read_meta", "build_command", "find_databases"]

#: the unit (A) of the stored displacements from lattice sites
POSITION_QUANTUM = 1e-4

#: the potentials whose databases ship with localbook (artefacts ``fe_defects_<potential>``, whose SHA-256 and
#: rebuild commands live in :mod:`localbook.data.artefacts`)
POTENTIALS = ("AM04", "MEAM")


def _artefact(potential: str):
    from localbook.data.artefacts import artefact
    if potential not in POTENTIALS:
        raise ValueError(f"no shipped defect database for {potential!r}: choose one of {list(POTENTIALS)}")
    return artefact(f"fe_defects_{potential}")


def shipped_path(potential: str = "AM04") -> Path:
    """Path of the shipped database of ``potential`` (``"AM04"`` or ``"MEAM"``), not verified."""
    return _artefact(potential).file


def database_path(potential: str = "AM04", folder: str | Path = "") -> Path:
    """``folder/fe_defects_<potential>.npz`` (a database you built), or the shipped file when ``folder`` is
    empty."""
    if not folder:
        return shipped_path(potential)
    path = Path(folder) / f"fe_defects_{potential}.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: build it with `{build_command(potential, folder)}`")
    return path


def build_command(potential: str, folder: str | Path = "W") -> str:
    """The shell commands that build ``folder/fe_defects_<potential>.npz`` (resumable; ``--shard I 2`` runs two
    halves in parallel), for messages that name the fix."""
    out = Path(folder) / f"fe_defects_{potential}.npz"
    cli = "python -m localbook.atoms.defect_database"
    return (f"{cli} build --potential {potential} --workdir {folder}/work && "
            f"{cli} assemble --potential {potential} --workdir {folder}/work --out {out}")


def find_databases(potentials, folder: str | Path = "") -> tuple[dict, dict]:
    """Split ``potentials`` into the databases that exist and those that do not.

    Each potential's database is ``folder/fe_defects_<potential>.npz`` when ``folder`` is given and holds it,
    else the file shipped with localbook (AM04 and MEAM both ship). Returns ``({potential: path},
    {potential: message})``: for each missing database a message that names the command that builds it. A
    chapter runs on what exists and prints the messages.
    """
    found, missing = {}, {}
    for potential in potentials:
        if potential not in POTENTIALS:
            raise ValueError(f"no defect database for {potential!r}: choose among {list(POTENTIALS)}")
        candidates = [Path(folder) / f"fe_defects_{potential}.npz"] if folder else []
        try:
            candidates.append(shipped_path(potential))
        except KeyError:                 # no shipped artefact of that name
            pass
        hit = next((c for c in candidates if c.exists()), None)
        if hit is not None:
            found[potential] = hit
            continue
        where = " or ".join([str(c) for c in candidates] or ["the shipped data"])
        missing[potential] = (f"no {potential} database ({where}): build it with "
                              f"`{build_command(potential, folder or 'DIR')}` (resumable; hours of CPU), then "
                              f"pass database_dir={str(folder or 'DIR')!r}")
    return found, missing


def _bcc_sites(a0: float, n_cells: int, strain: float) -> np.ndarray:
    from ase.build import bulk
    return bulk("Fe", "bcc", a=a0 * (1 + strain), cubic=True).repeat(int(n_cells)).positions


def save_defects(structures, path, meta: dict, a0: float) -> str:
    """Write ``structures`` (cubic bcc-Fe supercells with ``info["n_cells"]`` and ``info["strain"]``, every
    configuration with the same ``info`` keys, scalar values) to ``path`` (``.npz``); returns its SHA-256.

    ``a0`` (A): the lattice parameter of the perfect crystal at zero strain, as in ``meta``.
    """
    from scipy.spatial import cKDTree
    from localbook.data import file_sha256
    if not structures:
        raise ValueError("no structures to save")
    keys = sorted(structures[0].info)
    for k in ("n_cells", "strain"):
        if k not in keys:
            raise ValueError(f"every structure needs info[{k!r}] (the cubic cell and its strain)")
    sites, disp = [], []
    for i, at in enumerate(structures):
        if sorted(at.info) != keys:
            raise ValueError(f"structure {i} has info keys {sorted(at.info)}, the first one {keys}: make them equal")
        n, eps = int(at.info["n_cells"]), float(at.info["strain"])
        length = n * a0 * (1 + eps)
        if not np.allclose(at.cell[:], np.eye(3) * length, atol=1e-6) or set(at.get_chemical_symbols()) != {"Fe"}:
            raise ValueError(f"structure {i} is not a cubic Fe cell of side {length:.4f} A (n_cells={n}, strain={eps})")
        lattice = _bcc_sites(a0, n, eps)
        pos = np.mod(at.positions, length)
        _, idx = cKDTree(np.mod(lattice, length), boxsize=length).query(pos)
        d = pos - lattice[idx]
        d -= length * np.round(d / length)
        q = np.round(d / POSITION_QUANTUM)
        if np.abs(q).max() > np.iinfo(np.int16).max:
            raise ValueError(f"structure {i}: an atom lies {np.abs(d).max():.2f} A from its nearest site")
        sites.append(idx.astype(np.uint16))
        disp.append(q.astype(np.int16))
    columns = {}
    for k in keys:
        values = [at.info[k] for at in structures]
        arr = np.asarray(values)
        if arr.dtype == object or arr.ndim != 1:
            raise ValueError(f"info[{k!r}] must be a scalar (number, bool or str) in every structure")
        columns[f"info_{k}"] = arr
    meta = dict(meta, a0=float(a0), position_quantum_a=POSITION_QUANTUM, n_structures=len(structures))
    np.savez_compressed(path, meta=json.dumps(meta), n_atoms=np.array([len(s) for s in structures], np.int32),
                        site=np.concatenate(sites), displacement=np.concatenate(disp), **columns)
    return file_sha256(path)


def read_meta(path) -> dict:
    """The ``meta`` record of a database file (build command, potential, seeds, rejection counts, ...)."""
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))


def load_defects(path) -> list:
    """Read a database written by :func:`save_defects`: a list of periodic ``ase.Atoms`` with their ``info``.

    ``structures[i].info`` holds the stored columns as Python scalars and ``"index"``, the position in the
    file; the file's ``meta`` record is read by :func:`read_meta`.
    """
    from ase import Atoms
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        n_atoms, site, disp = z["n_atoms"], z["site"].astype(np.int64), z["displacement"].astype(np.float64)
        columns = {k[5:]: z[k] for k in z.files if k.startswith("info_")}
    a0, quantum = meta["a0"], meta["position_quantum_a"]
    ends = np.cumsum(n_atoms)
    starts = ends - n_atoms
    lattices: dict = {}
    out = []
    for i, (s, e) in enumerate(zip(starts, ends)):
        n, eps = int(columns["n_cells"][i]), float(columns["strain"][i])
        if (n, eps) not in lattices:
            lattices[(n, eps)] = _bcc_sites(a0, n, eps)
        length = n * a0 * (1 + eps)
        pos = lattices[(n, eps)][site[s:e]] + quantum * disp[s:e]
        at = Atoms("Fe" * int(n_atoms[i]), positions=pos, cell=np.eye(3) * length, pbc=True)
        at.wrap()
        at.info = {k: v[i].item() for k, v in columns.items()}
        at.info["index"] = i
        out.append(at)
    return out


def _is_shipped(potential: str, path) -> bool:
    try:
        return Path(path).resolve() == shipped_path(potential).resolve()
    except (KeyError, ValueError):     # no shipped file of that potential: a database of the user's
        return False


def load_fe_defects(potential: str = "AM04", path=None) -> list:
    """The defect database of ``potential`` as a list of ``ase.Atoms`` (see :func:`load_defects`).

    Without ``path`` (or with the shipped file's path), the shipped file is used after its SHA-256 is checked
    against :mod:`localbook.data.artefacts` (``ChecksumError`` or ``FileNotFoundError`` name the rebuild command).
    """
    if path is None or _is_shipped(potential, path):
        from localbook.data.artefacts import verified_path
        path = verified_path(f"fe_defects_{potential}")
    return load_defects(path)
