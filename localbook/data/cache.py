"""A checksummed, concurrency-safe on-disk cache for derived arrays (descriptors, Hessians, learning curves).

Keys are complete by construction. The key of an entry is the SHA-256 of

* the function ``name``, its ``inputs`` and ``params``, each hashed by *content* (:func:`fingerprint`): arrays and
  tensors by dtype, shape and bytes; ``ase.Atoms`` by every per-atom array (``atoms.arrays``: numbers, positions,
  momenta, tags, charges...), ``info``, cell, pbc and constraints; files by their bytes; devices and dtypes by
  name; an object that cannot be described by content (a function, an open file, an arbitrary instance) is
  refused with a ``TypeError``, never hashed by its address;
* the localbook source that computes it (:func:`localbook.provenance.source_hash` of the modules named in
  ``depends_on``, or :func:`~localbook.provenance.package_hash` of the whole package when none is named), and
  the versions of the third-party packages that source imports (:func:`~localbook.provenance.dependency_versions`):
  editing one line of ``localbook/scattering3d/`` or upgrading dscribe makes the next run recompute.

Entries are atomic and safe to share between processes. An entry is one ``<key>.npz`` file holding the arrays
and, in the same file, its metadata (the key, the localbook version), followed by the SHA-256 of all its bytes
(a trailer that ``np.load`` ignores); it is written
to a temporary file in the cache folder, flushed to disk, then published with one ``os.replace``, so a reader
sees a whole entry or none. An entry that fails its checks (a flipped byte, a file copied under another key) is
reported with a :class:`CacheCorruptionWarning` and treated as a miss; it is never deleted, only replaced by the
recomputed entry. A failure to write (disk full, read-only folder) warns with :class:`CacheWriteWarning` and
returns the computed result.

The cache lives in ``$LOCALBOOK_CACHE`` (default ``~/.cache/localbook``); ``LOCALBOOK_CACHE=off`` (any case)
disables it.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["fingerprint", "cache_key", "ArrayCache", "default_cache", "file_sha256", "cache_disabled",
           "CacheCorruptionWarning", "CacheWriteWarning", "CACHE_ENV"]

CACHE_ENV = "LOCALBOOK_CACHE"
_FORMAT = 2  # entry layout: one .npz with the arrays and a JSON metadata member
_META = "__localbook_meta__"
_TRAILER = b"\nlocalbook-sha256:"  # then the 64 hex digits of the SHA-256 of all the bytes before


class CacheCorruptionWarning(UserWarning):
    """A cache entry failed its checksum or key check; it is ignored and recomputed."""


class CacheWriteWarning(UserWarning):
    """A computed result could not be stored in the cache (it is returned all the same)."""


# ----------------------------------------------------------------------------------------------------------------
# fingerprints


def _torch():
    return sys.modules.get("torch")  # never import torch just to hash a number


def _array_bytes(h, arr: np.ndarray, path: str, active: set) -> None:
    if arr.dtype.hasobject:
        h.update(f"objarray:{arr.shape};".encode())
        for k, item in enumerate(arr.ravel(order="C")):
            _hash_update(h, item, f"{path}[{k}]", active)
        return
    arr = np.ascontiguousarray(arr)
    h.update(f"ndarray:{arr.dtype.str}:{arr.dtype.descr if arr.dtype.fields else ''}:{arr.shape};".encode())
    h.update(arr.reshape(-1).view(np.uint8) if arr.size else b"")


def _atoms_description(atoms) -> dict:
    """Everything in an ``ase.Atoms`` that a computation may read, as plain data."""
    constraints = []
    for c in atoms.constraints:
        if not hasattr(c, "todict"):
            raise TypeError(f"cannot fingerprint the constraint {type(c).__name__} of an ase.Atoms; "
                            "remove it (atoms.set_constraint()) before caching")
        constraints.append(c.todict())
    return {"arrays": dict(atoms.arrays), "cell": np.asarray(atoms.cell), "pbc": np.asarray(atoms.pbc),
            "celldisp": np.asarray(atoms.get_celldisp()), "info": dict(atoms.info),
            "constraints": constraints}


def _is_atoms(obj) -> bool:
    ase_atoms = sys.modules.get("ase.atoms")
    return ase_atoms is not None and isinstance(obj, ase_atoms.Atoms)


def _hash_update(h, obj: Any, path: str, active: set) -> None:
    # Each branch writes a type tag first, so that 1, 1.0, "1", [1] and np.array([1]) hash differently.
    if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
        _hash_update(h, obj.item(), path, active)  # np.float64(0.5) and 0.5 are the same number
        return
    if obj is None or isinstance(obj, (bool, int, str, complex)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
        return
    if isinstance(obj, float):
        # repr round-trips every double; nan has one spelling; -0.0 and 0.0 differ, as they may in a result
        h.update(f"float:{obj!r};".encode())
        return
    if isinstance(obj, bytes):
        h.update(b"bytes:" + hashlib.sha256(obj).digest())
        return
    if isinstance(obj, np.generic):
        h.update(f"npscalar:{obj.dtype.str};".encode())
        _array_bytes(h, np.asarray(obj), path, active)
        return
    if isinstance(obj, np.dtype):
        h.update(f"npdtype:{obj.str}:{obj.descr};".encode())
        return
    if isinstance(obj, type):  # a class (np.float32, a transformer class): by its full name
        h.update(f"type:{obj.__module__}.{obj.__qualname__};".encode())
        return
    if isinstance(obj, enum.Enum):
        h.update(f"enum:{type(obj).__module__}.{type(obj).__qualname__}.{obj.name};".encode())
        return
    torch = _torch()
    if torch is not None:
        if isinstance(obj, torch.device):
            h.update(f"device:{obj};".encode())  # by name ("cpu", "cuda:0"), never by address
            return
        if isinstance(obj, torch.dtype):
            h.update(f"torchdtype:{obj};".encode())
            return
        if isinstance(obj, torch.Tensor):
            if obj.layout != torch.strided:
                obj = obj.to_dense()
            t = obj.detach().cpu().contiguous()
            if t.dtype == torch.bfloat16 or not hasattr(np, str(t.dtype).removeprefix("torch.")):
                h.update(f"tensor:{t.dtype}:{tuple(t.shape)};".encode())
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
                return
            obj = t.numpy()
    if isinstance(obj, np.ndarray):
        _array_bytes(h, obj, path, active)
        return
    if isinstance(obj, os.PathLike):
        p = Path(obj)
        if p.is_file():
            h.update(f"file:{file_sha256(p)};".encode())
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file())
            h.update(f"dir{len(files)}[".encode())
            for f in files:
                h.update(f"{f.relative_to(p).as_posix()}:{file_sha256(f)};".encode())
            h.update(b"]")
        else:
            h.update(f"missing-path:{p};".encode())
        return

    # containers: guard against cycles
    if id(obj) in active:
        raise TypeError(f"cannot fingerprint {path}: it contains itself")
    active.add(id(obj))
    try:
        if _is_atoms(obj):
            h.update(b"atoms:")
            try:
                _hash_update(h, _atoms_description(obj), path, active)
            except TypeError as err:
                raise TypeError(f"{err} (in the ase.Atoms at {path}: every entry of atoms.info and atoms.arrays "
                                "is part of the key; drop or convert the one that is not plain data)") from None
        elif isinstance(obj, Mapping) and all(type(k) is str for k in obj):  # the common case, sorted by key
            h.update(f"strmap{len(obj)}{{".encode())
            for k in sorted(obj):
                h.update(f"{len(k)}:{k}=".encode())
                _hash_update(h, obj[k], f"{path}[{k!r}]", active)
            h.update(b"}")
        elif isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                kh = hashlib.sha256()
                _hash_update(kh, k, f"{path} key {k!r}", active)
                items.append((kh.hexdigest(), k, v))
            items.sort(key=lambda t: t[0])
            h.update(f"map{len(items)}{{".encode())
            for digest, k, v in items:
                h.update(digest.encode())
                _hash_update(h, v, f"{path}[{k!r}]", active)
            h.update(b"}")
        elif isinstance(obj, (list, tuple)):
            h.update(f"seq{len(obj)}[".encode())
            for i, item in enumerate(obj):
                _hash_update(h, item, f"{path}[{i}]", active)
            h.update(b"]")
        elif isinstance(obj, (set, frozenset)):
            digests = sorted(fingerprint(item) for item in obj)
            h.update(f"set{len(digests)}{{{','.join(digests)}}}".encode())
        elif isinstance(obj, range):
            h.update(f"range:{obj.start}:{obj.stop}:{obj.step};".encode())
        elif dataclasses.is_dataclass(obj):
            h.update(f"dataclass:{type(obj).__module__}.{type(obj).__qualname__}".encode())
            _hash_update(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, path, active)
        elif hasattr(obj, "__localbook_fingerprint__"):
            h.update(f"object:{type(obj).__module__}.{type(obj).__qualname__}".encode())
            _hash_update(h, obj.__localbook_fingerprint__(), path, active)
        else:
            raise TypeError(
                f"cannot fingerprint {path}, an object of type {type(obj).__module__}.{type(obj).__qualname__}, "
                "for a cache key: it would have to be hashed by its address, and the key would never match again. "
                "Pass what determines the result instead (arrays, tensors, ase.Atoms, numbers, strings, paths, "
                "devices, dtypes, dataclasses, or lists / dicts of them), or give the class a "
                "__localbook_fingerprint__() method returning such a description")
    finally:
        active.discard(id(obj))


def fingerprint(obj: Any) -> str:
    """SHA-256 hex digest of a canonical description of ``obj``'s content (see the module docstring).

    Equal content gives an equal digest in any process (dict order and object identity do not matter);
    any change of a value, a dtype, a shape, an ``ase.Atoms`` array or info entry, or a file's bytes gives
    another. Raises ``TypeError`` naming the part of ``obj`` that has no content description.
    """
    h = hashlib.sha256(b"localbook-fingerprint-v2;")
    _hash_update(h, obj, "the input", set())
    return h.hexdigest()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_key(name: str, inputs: Any, params: Mapping[str, Any] | None = None,
              depends_on: Sequence[str] | None = None) -> str:
    """Key of a cache entry: the function ``name``, its ``inputs`` and ``params`` (by content), the localbook
    version, the hash of the localbook source (the modules ``depends_on`` and what they import, or the whole
    package) and the versions of the third-party packages that source imports."""
    from localbook import __version__, provenance

    if not isinstance(name, str) or not name:
        raise ValueError(f"a cache entry needs a non-empty name, got {name!r}")
    if isinstance(depends_on, str):
        depends_on = (depends_on,)
    modules = tuple(depends_on or ())
    source = provenance.source_hash(*modules) if modules else provenance.package_hash()
    return fingerprint({"name": name, "inputs": inputs, "params": dict(params or {}), "version": __version__,
                        "source": source, "dependencies": provenance.dependency_versions(*modules)})


def cache_disabled(root: Any) -> bool:
    """Whether a cache root means "no cache": the string ``off`` in any case (``LOCALBOOK_CACHE=OFF``)."""
    return str(root).strip().lower() == "off"


def _sha256_of(f, size: int, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    while size > 0:
        block = f.read(min(chunk, size))
        if not block:
            raise EOFError("the file is shorter than it was")
        h.update(block)
        size -= len(block)
    return h.hexdigest()


def _check_trailer(f) -> str | None:
    """None when the file ends with the SHA-256 of everything before it, else what is wrong."""
    size = os.fstat(f.fileno()).st_size
    n = len(_TRAILER) + 64
    if size < n:
        return "truncated"
    f.seek(size - n)
    tail = f.read(n)
    if not tail.startswith(_TRAILER):
        return "no checksum trailer (truncated, or not written by localbook)"
    f.seek(0)
    if _sha256_of(f, size - n) != tail[len(_TRAILER):].decode("ascii", "replace"):
        return "checksum mismatch"
    return None


def _check_meta(key: str, arrays: dict[str, np.ndarray]) -> str | None:
    if _META not in arrays:
        return "no metadata (not a localbook cache entry)"
    meta = json.loads(arrays[_META].tobytes().decode("utf-8"))
    if meta.get("format") != _FORMAT:
        return f"entry format {meta.get('format')}, expected {_FORMAT}"
    if meta.get("key") != key:
        return "it was written under another key (a renamed or copied file)"
    if sorted(set(arrays) - {_META}) != meta.get("arrays"):
        return f"arrays {sorted(set(arrays) - {_META})} differ from the recorded {meta.get('arrays')}"
    return None


class ArrayCache:
    """A directory of self-checking ``.npz`` entries (see the module docstring).

    ``root``: the folder (default ``$LOCALBOOK_CACHE``, else ``~/.cache/localbook``); ``"off"`` (any case)
    disables the cache: :meth:`get_or_compute` then always computes and :meth:`load` always misses.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None or (isinstance(root, str) and not root.strip()):
            root = os.environ.get(CACHE_ENV, "").strip() or Path.home() / ".cache" / "localbook"
        self.enabled = not cache_disabled(root)
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ArrayCache({str(self.root)!r}{'' if self.enabled else ', disabled'})"

    def path(self, key: str) -> Path:
        """The file of the entry ``key``."""
        return self.root / f"{key}.npz"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when absent, or when the entry fails its checks (then a
        :class:`CacheCorruptionWarning` says why; the file is left for the next :meth:`save` to replace)."""
        if not self.enabled:
            return None
        path = self.path(key)
        try:
            f = open(path, "rb")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            warnings.warn(f"cannot read cache entry {path}: {err}; recomputing", CacheCorruptionWarning,
                          stacklevel=2)
            return None
        # the open file stays whole if another process replaces the entry meanwhile (a new file, a new inode)
        with f:
            try:
                problem = _check_trailer(f)
                if problem is None:
                    f.seek(0)
                    with np.load(f, allow_pickle=False) as npz:
                        arrays = {k: npz[k] for k in npz.files}
                    problem = _check_meta(key, arrays)
            except Exception as err:  # noqa: BLE001 - any failure to read a damaged file is a miss
                problem = f"unreadable ({type(err).__name__}: {err})"
        if problem:
            warnings.warn(f"ignoring cache entry {path.name}: {problem}; recomputing", CacheCorruptionWarning,
                          stacklevel=2)
            return None
        arrays.pop(_META)
        return arrays

    def save(self, key: str, arrays: Mapping[str, Any], description: str = "") -> Path:
        """Store ``arrays`` under ``key``: written to a temporary file in the cache folder with its metadata and
        the SHA-256 of the whole, flushed, then published with one atomic rename (replacing any previous entry).
        Raises ``OSError`` when the folder cannot be written and ``TypeError`` for an array of dtype object."""
        path = self.path(key)
        if not self.enabled:
            return path
        arrays = {str(k): np.asarray(v) for k, v in arrays.items()}
        for name, arr in arrays.items():
            if arr.dtype.hasobject:
                raise TypeError(f"array {name!r} has dtype object; the cache stores numeric and string arrays only "
                                "(convert it, e.g. np.asarray(x, dtype=float))")
            if name == _META:
                raise ValueError(f"{_META!r} is reserved for the cache's metadata; rename that array")
        from localbook import __version__

        meta = {"format": _FORMAT, "key": key, "version": __version__, "description": description,
                "arrays": sorted(arrays)}
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w+b") as f:
                np.savez(f, **arrays, **{_META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)})
                f.flush()
                size = f.tell()
                f.seek(0)
                digest = _sha256_of(f, size)
                f.seek(size)
                f.write(_TRAILER + digest.encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def discard(self, key: str) -> None:
        """Delete the entry ``key`` (the cache itself never deletes: a bad entry is replaced when recomputed)."""
        self.path(key).unlink(missing_ok=True)

    def get_or_compute(self, name: str, compute: Callable[[], Mapping[str, Any]], *, inputs: Any,
                       params: Mapping[str, Any] | None = None,
                       depends_on: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The arrays of ``compute()`` for these inputs and parameters, computed once and then read back.

        ``name``: what is computed; ``inputs`` and ``params``: everything the result depends on, hashed by
        content (:func:`fingerprint`); ``depends_on``: the localbook modules that compute it (e.g.
        ``["localbook.scattering3d"]``; default: the whole package), whose source is part of the key.
        A failure to store the result warns (:class:`CacheWriteWarning`) and returns it all the same.
        """
        if not self.enabled:
            return {k: np.asarray(v) for k, v in compute().items()}
        key = cache_key(name, inputs, params, depends_on)
        hit = self.load(key)
        if hit is not None:
            return hit
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        self.try_save(key, arrays, description=name)
        return arrays

    def try_save(self, key: str, arrays: Mapping[str, Any], description: str = "") -> bool:
        """:meth:`save`, but a failure (disk full, read-only folder, an object array) warns with
        :class:`CacheWriteWarning` instead of raising, so that a caller never loses a computed result to the
        cache; returns whether the entry was stored."""
        try:
            self.save(key, arrays, description=description)
            return True
        except (OSError, TypeError, ValueError) as err:
            warnings.warn(f"could not store {description or key!r} in the cache {self.root} ({type(err).__name__}: "
                          f"{err}); the result is returned but will be recomputed next time. Free space, fix the "
                          f"folder's permissions, point ${CACHE_ENV} elsewhere, or set {CACHE_ENV}=off",
                          CacheWriteWarning, stacklevel=3)
            return False


def default_cache() -> ArrayCache:
    """The cache in ``$LOCALBOOK_CACHE`` (default ``~/.cache/localbook``; ``off`` disables it)."""
    return ArrayCache()
