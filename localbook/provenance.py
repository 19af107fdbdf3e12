"""Which localbook source a result was computed with: hashes of the package's modules.

* :func:`source_hash` ``("localbook.scattering3d", ...)``: a SHA-256 over the source files of the named modules
  and of every localbook module they import, directly or not (the transitive closure of their ``import`` and
  ``from ... import`` statements, found by parsing each file with :mod:`ast`; imports inside functions count,
  and importing ``localbook.a.b`` counts ``localbook/__init__.py`` and ``localbook/a/__init__.py`` as well,
  since Python runs them). A change to any line of any of those files changes the hash; a change elsewhere in
  the package does not. The cache keys of :mod:`localbook.data.cache` and the recorded runs of the book
  include it, so that a result is never reused after the code that produced it changed.
* :func:`package_hash`: a SHA-256 over every ``localbook/**/*.py``; what a key falls back on when it does not
  name the modules it depends on.
* :func:`module_closure`: the module names behind a :func:`source_hash`, to see what a hash covers.

The files are read from the directory this module lives in, never imported, and each answer is computed once
per process (a long-lived kernel that edits localbook and reloads it must call :func:`clear` to see the edit).
Line endings are normalised (``\\r\\n`` -> ``\\n``) so that a Windows checkout hashes like a POSIX one; any other
byte counts, comments included. Imports made from strings (``importlib.import_module(name)``) are invisible to
the parse; localbook has none (``tests/test_provenance.py`` checks).

Written by hand: no maintained library computes a hash over a package's import closure without importing it
(``modulefinder`` imports nothing but follows every third-party import too, and is much slower).
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import sys
import threading
from functools import lru_cache, cache
from pathlib import Path

__all__ = ["source_hash", "package_hash", "module_closure", "module_file", "dependency_versions", "clear",
           "PACKAGE_ROOT"]

#: The directory of the localbook package whose source is hashed (the one this module belongs to).
PACKAGE_ROOT = Path(__file__).resolve().parent
_PACKAGE = PACKAGE_ROOT.name  # "localbook"
_LOCK = threading.Lock()


def module_file(name: str) -> Path | None:
    """The source file of the localbook module ``name`` (``localbook.a.b`` -> ``a/b.py`` or ``a/b/__init__.py``),
    or None when it is not a localbook module or has no such file."""
    parts = name.split(".")
    if parts[0] != _PACKAGE or any(not p.isidentifier() for p in parts):
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py") if len(parts) > 1 else None, base / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _read(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n")


@cache
def _scan(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(localbook modules, other top-level packages)`` imported anywhere in the localbook module ``name``."""
    path = module_file(name)
    is_package = path.name == "__init__.py"
    try:
        tree = ast.parse(_read(path), filename=str(path))
    except SyntaxError as err:
        raise SyntaxError(f"cannot hash the source of {name}: {err}") from err
    # the package a relative import is relative to
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                if node.level > 1:
                    anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # ``from localbook.data import cache`` imports the submodule localbook.data.cache
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    out, external = set(), set()
    for module in found:
        parts = module.split(".")
        if parts[0] != _PACKAGE:
            if parts[0] and parts[0] not in sys.stdlib_module_names and parts[0] != "__future__":
                external.add(parts[0])
            continue
        # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if module_file(prefix) is not None:
                out.add(prefix)
    out.discard(name)
    return tuple(sorted(out)), tuple(sorted(external))


def module_closure(*module_names: str) -> tuple[str, ...]:
    """The localbook modules that ``module_names`` import, directly or not, themselves and their parent
    packages included, sorted. Raises ``ValueError`` naming a module that localbook does not have."""
    if not module_names:
        raise ValueError("name at least one localbook module, e.g. source_hash('localbook.scattering3d'); "
                         "package_hash() covers the whole package")
    todo = []
    for name in module_names:
        if not isinstance(name, str) or module_file(name) is None:
            raise ValueError(f"{name!r} is not a localbook module with a source file under {PACKAGE_ROOT}; "
                             "pass a dotted name such as 'localbook.scattering3d' or 'localbook.atoms.eam'")
        parts = name.split(".")
        todo += [".".join(parts[:k]) for k in range(1, len(parts) + 1) if module_file(".".join(parts[:k]))]
    seen: set[str] = set()
    with _LOCK:
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo.extend(_scan(module)[0])
    return tuple(sorted(seen))


@cache
def _file_digest(path: Path) -> str:
    return hashlib.sha256(_read(path)).hexdigest()


@cache
def _hash_modules(modules: tuple[str, ...]) -> str:
    h = hashlib.sha256(b"localbook-source-v1\n")
    for module in modules:
        h.update(f"{module}:{_file_digest(module_file(module))}\n".encode())
    return h.hexdigest()


def source_hash(*module_names: str) -> str:
    """SHA-256 (hex) of the source of ``module_names`` and of every localbook module they import, directly or
    not (see the module docstring). ``source_hash("localbook.scattering3d")`` changes when a line of
    ``localbook/scattering3d/`` -- or of a localbook module it imports -- changes. Computed once per process."""
    return _hash_modules(module_closure(*module_names))


@lru_cache(maxsize=1)
def package_hash() -> str:
    """SHA-256 (hex) of every ``localbook/**/*.py`` (relative path and content, sorted by path). Computed once
    per process."""
    h = hashlib.sha256(b"localbook-package-v1\n")
    files = sorted(p for p in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        h.update(f"{path.relative_to(PACKAGE_ROOT).as_posix()}:{_file_digest(path)}\n".encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def _version_of(top_level: str) -> str:
    names = _distributions().get(top_level) or [top_level]
    versions = []
    for dist in sorted(set(names)):
        try:
            versions.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} absent")
    return ", ".join(versions)


def dependency_versions(*module_names: str) -> dict[str, str]:
    """The installed version of every third-party package that the localbook modules ``module_names`` (all
    of localbook when none is named) import, directly or through other localbook modules:
    ``{"torch": "torch==2.13.0", "sklearn": "scikit-learn==1.9.1", "faiss": "faiss-cpu absent", ...}``.
    An upgrade of one of them can change a result, so cache keys include this."""
    return dict(_dependency_versions(tuple(sorted(set(module_names)))))


@cache
def _dependency_versions(module_names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    if not module_names:
        module_names = tuple(sorted({".".join((_PACKAGE, *p.relative_to(PACKAGE_ROOT).with_suffix("").parts))
                                     .removesuffix(".__init__") for p in PACKAGE_ROOT.rglob("*.py")
                                     if "__pycache__" not in p.parts}))
    external = sorted({e for m in module_closure(*module_names) for e in _scan(m)[1]})
    return tuple((name, _version_of(name)) for name in external)


def clear() -> None:
    """Forget the hashes computed so far (after editing localbook's source in a running process)."""
    for f in (_scan, _file_digest, _hash_modules, package_hash, _distributions, _version_of, _dependency_versions):
        f.cache_clear()
