"""Copy plotly.js from the installed ``plotly`` package into ``book/_static`` for the rendered book.

The kernel-free figures of :mod:`localbook.webfigures` are ``<div>``s drawn by ``window.Plotly``; ``_config.yml``
loads ``plotly.min.js`` on every page (``html_js_files``). The file ships inside the ``plotly`` wheel, so the
book needs no network and its plotly.js matches the Python package that wrote the figures. Run by ``make html``.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import plotly

SOURCE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
TARGET = Path(__file__).resolve().parents[1] / "book" / "_static" / "plotly.min.js"

if __name__ == "__main__":
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: reinstall plotly (pip install --force-reinstall plotly)")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    if not TARGET.exists() or TARGET.read_bytes() != SOURCE.read_bytes():
        shutil.copyfile(SOURCE, TARGET)
    print(f"[book] plotly.js {plotly.__version__} in {TARGET.relative_to(TARGET.parents[2])}")
