#!/usr/bin/env bash
# `make lab`: open the chapters in JupyterLab, in the project's environment, ready for a workshop.
#
#   VENV=.venv tools/lab.sh [extra jupyter-lab arguments, e.g. --no-browser --port 8890]
#   LAB_ROOT=/some/folder tools/lab.sh ...   # serve another folder (tests/test_browser.py serves copies)
#
# - jupytext's JupyterLab extension (in the jupytext package) opens notebooks/NN_name.py as a notebook: this
#   script makes "Jupytext Notebook" the default viewer of Python files for this environment (JupyterLab's
#   overrides.json under $VENV/share/jupyter/lab/settings), so a double click on a chapter's .py opens it as a
#   notebook (tools/lab_settings.py); the paired .ipynb (with the outputs of the book's run) opens as usual.
# - the ipywidgets, ipycanvas and plotly front ends are JupyterLab extensions shipped inside those packages.
# - LOCALBOOK_HEADLESS is removed from the environment (make exports it for its headless runs): in JupyterLab
#   the chapters build their widgets.
set -euo pipefail
VENV=${VENV:-.venv}
cd "$(dirname "$0")/.."
for pkg in jupyterlab jupytext ipywidgets ipycanvas plotly; do
    "$VENV/bin/python" -c "import $pkg" 2>/dev/null \
        || { echo "[lab] $pkg is missing from $VENV: run \`make setup\` (it installs the 'lab' extra)"; exit 1; }
done
"$VENV/bin/python" tools/lab_settings.py "$VENV"
unset LOCALBOOK_HEADLESS MPLBACKEND
root_args=()
[ "$(id -u)" = 0 ] && root_args=(--allow-root)  # containers and CI run as root; JupyterLab refuses it otherwise
if [ -n "${LAB_ROOT:-}" ]; then
    exec "$VENV/bin/jupyter" lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$LAB_ROOT" "${root_args[@]}" "$@"
fi
echo "[lab] starting JupyterLab on 127.0.0.1; the chapters are in notebooks/ (Ctrl-C to stop)"
exec "$VENV/bin/jupyter" lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$PWD" "${root_args[@]}" "$@" notebooks
