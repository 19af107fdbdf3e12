"""JupyterLab settings for the chapters: open Python files (notebooks/NN_name.py) as notebooks with jupytext.

Writes JupyterLab's ``overrides.json`` (the defaults of one Python environment, under
``<prefix>/share/jupyter/lab/settings``), keeping any other setting already there:

    python tools/lab_settings.py [PREFIX]      # default: sys.prefix (the environment running this script)

Used by ``tools/lab.sh`` (``make lab``) and by ``binder/postBuild`` (Binder and other repo2docker builds).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

VIEWERS = {"python": "Jupytext Notebook"}  # the factory name of jupytext's JupyterLab extension


def write_overrides(prefix: str | Path) -> Path:
    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(path.read_text()) if path.exists() else {}
    settings.setdefault("@jupyterlab/docmanager-extension:plugin", {}).setdefault("defaultViewers", {}).update(VIEWERS)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


if __name__ == "__main__":
    where = write_overrides(sys.argv[1] if len(sys.argv) > 1 else sys.prefix)
    print(f"[lab] Python files open as notebooks (default viewer set in {where})")
