"""One module per chapter: its settings at each scale, declared once, and the jobs it can run sharded.

``localbook.chapters.chNN_<topic>`` holds ``PRESETS``, a :class:`localbook.params.Presets` of the chapter's
settings at the ``"quick"``, ``"medium"``, ``"thesis"`` and ``"smoke"`` scales with the thesis' values, which the
notebook ``notebooks/NN_<name>.py`` passes to :func:`localbook.params.check`; and, where the chapter has per-item
work worth sharding (descriptors of many structures), a job ``f(**settings) -> (transformer, items, name)`` for
``python -m localbook.compute`` / ``torchrun``. Everything else a chapter calls lives in the domain packages
(``localbook.atoms``, ``localbook.images``, ...): this package only says what each chapter runs, at what size.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

__all__ = ["chapter_module", "chapter_modules", "quick_run_seconds"]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def chapter_modules() -> dict[str, str]:
    """``{"02": "localbook.chapters.ch02_qm9", ...}``: the chapter number of each chapter module."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ch") and info.name[2:4].isdigit():
            out[info.name[2:4]] = f"{__name__}.{info.name}"
    return out


def chapter_module(notebook: str) -> ModuleType:
    """The chapter module of a notebook name or number (``"02_qm9_regression"``, ``"02"``)."""
    number = notebook[:2]
    modules = chapter_modules()
    if number not in modules:
        raise KeyError(f"no chapter module for {notebook!r}; chapters with one: {', '.join(sorted(modules)) or 'none'}")
    return importlib.import_module(modules[number])


def quick_run_seconds(notebook: str) -> float | None:
    """Wall time of the committed run of ``notebooks/<notebook>.ipynb`` at its defaults (the sum of papermill's
    per-cell durations), or None when the notebook is absent, was not executed by papermill or is being executed
    (a cell without a duration). The reference of
    the chapters' cost lines (:meth:`localbook.params.Presets.cost`)."""
    path = NOTEBOOKS / f"{notebook}.ipynb"
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    durations = [c.get("metadata", {}).get("papermill", {}).get("duration") for c in cells
                 if c.get("cell_type") == "code"]
    if not durations or any(d is None for d in durations):  # not executed by papermill, or being executed now
        return None
    return float(sum(durations))
