"""Move nbval's ``# NBVAL_CHECK_OUTPUT`` comment markers of chapter sources into cell tags.

nbval reads the cell tag ``nbval-check-output`` exactly as it reads the comment, and a tag does not show in
the rendered book. For each jupytext source given (``notebooks/NN_name.py``), every code cell with a line
``# NBVAL_CHECK_OUTPUT`` loses that line and gains the tag (written ``# %% tags=["nbval-check-output"]`` in
the percent format). The paired ``.ipynb`` keeps its outputs: run ``jupytext --sync`` on the same files
afterwards, which copies the new inputs and tags into the notebook without executing it.

    python tools/nbval_tags.py notebooks/02_qm9_regression.py [...]   # then: jupytext --sync <same files>

Prints, per file, how many cells were converted; exits 1 if a file has a marker that is not on a line of its
own (nbval ignores those: fix it by hand first).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext

TAG = "nbval-check-output"
MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_CHECK_OUTPUT[ \t]*\n?", re.M)
TRAILING = re.compile(r"\S.*#\s*NBVAL_CHECK_OUTPUT")


def convert(path: Path) -> int:
    """Convert one jupytext source in place; returns the number of cells converted."""
    nb = jupytext.read(path)
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if TRAILING.search(cell.source):
            raise SystemExit(f"{path}: a NBVAL_CHECK_OUTPUT marker shares a line with code; put it on its own "
                             "line (or tag the cell by hand) and run again")
        if MARKER.search(cell.source):
            cell.source = MARKER.sub("", cell.source).strip("\n")
            tags = cell.metadata.setdefault("tags", [])
            if TAG not in tags:
                tags.append(TAG)
            n += 1
    if n:
        jupytext.write(nb, path, fmt="py:percent")
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
