"""The bcc-iron defect databases shipped with localbook (chapter 04), checked against their SHA-256.

Built by ``python -m localbook.atoms.defects build`` (see :mod:`localbook.atoms.defects`; the exact
commands are in ``BUILD_COMMANDS``) and stored in ``localbook/atoms/data/fe_defects_<potential>.npz``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["SHA256", "BUILD_COMMANDS", "shipped_path", "load_fe_defects"]

SHA256 = {
    "AM04": "0e6f1472fe52ef7f1146db7e9eeb5e39713911da07b979eb09fb14854598e29e",
    "M03": "a40416d75cba3f2bed90226d4a259dc634227a33bed57c5968d472eb89015f58",
}

BUILD_COMMANDS = {
    "AM04": "python -m localbook.atoms.defects build --potential AM04 --out fe_defects_AM04.npz --cells 4 5 "
            "--tries 6 --strain-cells 4 --random-cells 6 --n-random 12",
    "M03": "python -m localbook.atoms.defects build --potential M03 --out fe_defects_M03.npz --cells 4 "
           "--tries 10 --strains 0 --strain-cells --random-cells --n-random 0",
}


def shipped_path(potential: str = "AM04") -> Path:
    """Path of the shipped database of ``potential`` (``"AM04"`` or ``"M03"``)."""
    if potential not in SHA256:
        raise ValueError(f"no shipped defect database for {potential!r}: choose one of {sorted(SHA256)}")
    return Path(__file__).resolve().parent.parent / "atoms" / "data" / f"fe_defects_{potential}.npz"


def load_fe_defects(potential: str = "AM04", path=None) -> dict:
    """Load a defect database (see :func:`localbook.atoms.defects.load_database` for the fields).

    Without ``path``, the shipped file is used and its SHA-256 verified (``ChecksumError`` if it differs).
    """
    from localbook.atoms.defects import load_database
    from localbook.data import verify_checksum
    if path is None:
        path = shipped_path(potential)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: rebuild it with `{BUILD_COMMANDS[potential]}`")
        verify_checksum(path, SHA256[potential])
    db = load_database(path)
    db["sha256"] = SHA256.get(potential) if path == shipped_path(potential) else None
    return db
