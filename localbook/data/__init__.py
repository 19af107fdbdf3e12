"""Datasets: a registry of offline sources (see :mod:`localbook.data.registry`), loaders, and a cache.

Nothing is downloaded at import time. ``locate(name)`` finds a dataset or raises
:class:`DataUnavailableError` naming every way to get it.
"""
from localbook.data import art_weights as _art_weights  # noqa: F401  (registers the VGG weights)
from localbook.data import sources as _sources  # noqa: F401  (registers the datasets)
from localbook.data.cache import ArrayCache, cache_key, default_cache, file_sha256, fingerprint
from localbook.data.registry import DataUnavailableError, Dataset, datasets, get, locate, register

__all__ = ["ArrayCache", "cache_key", "default_cache", "file_sha256", "fingerprint", "DataUnavailableError",
           "Dataset", "datasets", "get", "locate", "register", "verify_checksum", "ChecksumError"]


class ChecksumError(ValueError):
    """A shipped data file does not have the SHA-256 it was published with."""


def verify_checksum(path, sha256: str) -> None:
    """Raise :class:`ChecksumError` unless the file at ``path`` has this SHA-256 (shipped datasets)."""
    actual = file_sha256(path)
    if actual != sha256:
        raise ChecksumError(
            f"{path} has SHA-256 {actual}, expected {sha256}: the file is corrupted or was regenerated; "
            "reinstall localbook or rebuild the file with its localbook command"
        )
