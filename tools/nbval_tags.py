"""Move nbval's ``# NBVAL_CHECK_OUTPUT`` comment markers of a chapter into cell tags, in both files of the pair.

nbval reads the cell tag ``nbval-check-output`` exactly as it reads the comment, and a tag does not show in
the rendered book. For each chapter source given (``notebooks/NN_name.py``), every code cell with a line
``# NBVAL_CHECK_OUTPUT`` loses that line and gains the tag, in the ``.py`` (written
``# %% tags=["nbval-check-output"]``) and in the paired ``.ipynb``, whose outputs are kept: no re-execution is
needed, and nbval's comparison of the stored outputs is unchanged.

    python tools/nbval_tags.py notebooks/02_qm9_regression.py [...]

Both files are edited here because ``jupytext --sync`` does not carry new tags from the ``.py`` into a notebook
executed by papermill (its cells have ``"tags": []``, which jupytext restores over the text's tags). The pair
must be in sync first (same cells, same sources): run ``make sync`` if the tool says otherwise. Exits 1 on a
marker that is not on a line of its own (nbval ignores those: fix it by hand).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

TAG = "nbval-check-output"
MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_CHECK_OUTPUT[ \t]*(\n|$)", re.M)
TRAILING = re.compile(r"\S.*#\s*NBVAL_CHECK_OUTPUT")


def _tag(cell) -> bool:
    """Remove the marker line of a code cell and tag it; True if the cell had a marker."""
    if cell.cell_type != "code" or not MARKER.search(cell.source):
        return False
    cell.source = MARKER.sub("", cell.source).strip("\n")
    tags = cell.metadata.setdefault("tags", [])
    if TAG not in tags:
        tags.append(TAG)
    return True


def convert(py: Path) -> int:
    """Convert one chapter (``py`` and its paired ``.ipynb``) in place; returns the number of cells tagged."""
    text = jupytext.read(py)
    ipynb = py.with_suffix(".ipynb")
    executed = nbformat.read(ipynb, as_version=4) if ipynb.exists() else None
    if any(TRAILING.search(c.source) for c in text.cells):
        raise SystemExit(f"{py}: a NBVAL_CHECK_OUTPUT marker shares a line with code; put it on its own line")
    if executed is not None:
        a = [(c.cell_type, c.source.strip()) for c in text.cells]
        b = [(c.cell_type, c.source.strip()) for c in executed.cells
             if "injected-parameters" not in c.metadata.get("tags", [])]
        if a != b:
            raise SystemExit(f"{py} and {ipynb.name} differ: run `make sync` (jupytext --sync) first")
    n = sum(_tag(c) for c in text.cells)
    if n:
        jupytext.write(text, py, fmt="py:percent")
        if executed is not None:
            for c in executed.cells:
                _tag(c)
            nbformat.write(executed, ipynb)
    return n


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        path = Path(name)
        if path.suffix != ".py":
            raise SystemExit(f"{path}: give the jupytext source (notebooks/NN_name.py), not the .ipynb")
        print(f"{path}: {convert(path)} cell(s) now tagged {TAG!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
