"""A checksummed on-disk cache for derived arrays (descriptors, Hessians, learning curves).

The key of an entry is the SHA-256 of a canonical description of the inputs (arrays, ``ase.Atoms``,
files, numbers, strings...), the parameters, the function name and the localbook version: any change of
one of them gives a new key, so a stale entry is never reused. Each entry is an ``.npz`` file with a JSON
sidecar holding the file's own SHA-256 and the version; a file whose checksum or version does not match
(a truncated write, an edit, a copy from another version) is reported, discarded and recomputed.

The cache lives in ``$LOCALBOOK_CACHE`` (default ``~/.cache/localbook``); ``LOCALBOOK_CACHE=off``
disables it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["fingerprint", "cache_key", "ArrayCache", "default_cache", "CacheCorruptionWarning"]


class CacheCorruptionWarning(UserWarning):
    """A cache entry failed its checksum or version check and was discarded."""


def _hash_update(h: "hashlib._Hash", obj: Any) -> None:
    # Each branch writes a type tag first, so that 1, 1.0, "1" and [1] hash differently.
    if obj is None or isinstance(obj, (bool, int, float, str)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, bytes):
        h.update(b"bytes:" + hashlib.sha256(obj).digest())
    elif isinstance(obj, np.ndarray) or type(obj).__module__ == "torch":
        arr = np.ascontiguousarray(obj.detach().cpu().numpy() if hasattr(obj, "detach") else obj)
        h.update(f"ndarray:{arr.dtype.str}:{arr.shape};".encode())
        h.update(arr.tobytes())
    elif isinstance(obj, np.generic):
        _hash_update(h, obj.item())
    elif isinstance(obj, Path):
        if obj.is_file():
            h.update(f"file:{file_sha256(obj)};".encode())
        else:
            h.update(f"path:{obj};".encode())
    elif isinstance(obj, Mapping):
        h.update(b"map{")
        for k in sorted(obj, key=str):
            _hash_update(h, str(k))
            _hash_update(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(f"seq{len(obj)}[".encode())
        for item in obj:
            _hash_update(h, item)
        h.update(b"]")
    elif hasattr(obj, "get_positions") and hasattr(obj, "numbers"):  # ase.Atoms
        _hash_update(h, {"numbers": obj.numbers, "positions": obj.get_positions(),
                         "cell": np.asarray(obj.cell), "pbc": obj.pbc})
    else:
        raise TypeError(
            f"cannot fingerprint an object of type {type(obj).__name__} for the cache key; "
            "pass arrays, ase.Atoms, numbers, strings, paths, or lists / dicts of them"
        )


def fingerprint(obj: Any) -> str:
    """SHA-256 hex digest of a canonical description of ``obj``."""
    h = hashlib.sha256()
    _hash_update(h, obj)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_key(name: str, inputs: Any, params: Mapping[str, Any] | None = None) -> str:
    """Key of a cache entry: the function ``name``, its ``inputs`` and ``params`` and the localbook version."""
    from localbook import __version__

    return fingerprint({"name": name, "inputs": inputs, "params": dict(params or {}), "version": __version__})


class ArrayCache:
    """A directory of checksummed ``.npz`` entries (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root = os.environ.get("LOCALBOOK_CACHE") or Path.home() / ".cache" / "localbook"
        self.enabled = str(root) != "off"
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.npz", self.root / f"{key}.json"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None if absent, corrupted or from another version."""
        from localbook import __version__

        if not self.enabled:
            return None
        data, meta = self._paths(key)
        if not data.exists() or not meta.exists():
            return None
        try:
            info = json.loads(meta.read_text())
            problem = None
            if info.get("sha256") != file_sha256(data):
                problem = "checksum mismatch"
            elif info.get("version") != __version__:
                problem = f"written by localbook {info.get('version')}, this is {__version__}"
        except (OSError, ValueError) as exc:
            problem = f"unreadable metadata ({exc})"
        if problem:
            warnings.warn(f"discarding cache entry {data.name}: {problem}; recomputing", CacheCorruptionWarning,
                          stacklevel=2)
            self.discard(key)
            return None
        with np.load(data, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}

    def save(self, key: str, arrays: Mapping[str, np.ndarray], description: str = "") -> Path:
        """Store ``arrays`` under ``key`` atomically (write to a temporary file, then rename)."""
        from localbook import __version__

        data, meta = self._paths(key)
        if not self.enabled:
            return data
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(tmp, data)
        meta.write_text(json.dumps({"sha256": file_sha256(data), "version": __version__,
                                    "description": description}, indent=1))
        return data

    def discard(self, key: str) -> None:
        for p in self._paths(key):
            p.unlink(missing_ok=True)

    def get_or_compute(self, name: str, compute: Callable[[], Mapping[str, np.ndarray]], *, inputs: Any,
                       params: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Return the cached arrays of ``compute()`` for these inputs and parameters, computing them once."""
        key = cache_key(name, inputs, params)
        hit = self.load(key)
        if hit is not None:
            return hit
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        self.save(key, arrays, description=name)
        return arrays


def default_cache() -> ArrayCache:
    """The cache in ``$LOCALBOOK_CACHE`` (default ``~/.cache/localbook``)."""
    return ArrayCache()
