# localbook: `make book` builds the executed book, `make test` runs every check (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
PY       := $(BIN)/python
STAMP    := $(VENV)/.localbook-setup
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
NB_TIMEOUT ?= 900
# Headless runs never build widgets (they can stall a kernel with no front end): see localbook.params.
export LOCALBOOK_HEADLESS := 1
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: help setup book execute html run test unit nbval smoke sync bench clean lab browser

help:
	@echo "make book                      execute every chapter at its defaults, build _build/html"
	@echo "make test                      unit tests, pair sync, nbval, papermill smoke runs, book build"
	@echo "make run NB=00_local_methods PARAMS=\"-p dims '[2, 32]'\"   one chapter, outputs in _build/runs/"
	@echo "make bench                     benchmarks against named peers"
	@echo "make lab                       the chapters in JupyterLab, with their widgets (LAB_ARGS=\"--no-browser\")"

setup: $(STAMP)
$(STAMP): pyproject.toml tools/setup_env.sh
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/setup_env.sh
	touch $@

# Pair every .py with its .ipynb (the .py is the source), then execute in place at the defaults.
sync: setup
	$(BIN)/jupytext --sync $(NOTEBOOKS) 2>&1 | grep -v "^\[jupytext\] Reading" || true

execute: sync
	@for py in $(NOTEBOOKS); do nb=$${py%.py}.ipynb; start=$$(date +%s); \
	  $(BIN)/papermill "$$nb" "$$nb" -k python3 --execution-timeout $(NB_TIMEOUT) --cwd notebooks --no-progress-bar; \
	  echo "[book] executed $$nb in $$(( $$(date +%s) - start )) s"; done

html: setup
	bash tools/fetch_mathjax.sh
	$(PY) tools/copy_plotly_js.py
	$(BIN)/jupyter-book build -W -n --keep-going .

book: execute html
	@echo "[book] open _build/html/index.html"

run: setup
	@test -n "$(NB)" || { echo "usage: make run NB=00_local_methods PARAMS=\"-p name value ...\""; exit 2; }
	@test -f notebooks/$(NB).ipynb || { echo "no notebook notebooks/$(NB).ipynb; choose one of: $(notdir $(basename $(NOTEBOOKS)))"; exit 2; }
	mkdir -p _build/runs
	$(BIN)/papermill notebooks/$(NB).ipynb _build/runs/$(NB).ipynb -k python3 --cwd notebooks \
	  --execution-timeout $(NB_TIMEOUT) -p interactive False $(PARAMS)
	@echo "[run] wrote _build/runs/$(NB).ipynb"

test: unit nbval smoke html browser

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests -q --ignore=tests/test_browser.py

# JupyterLab and the built book driven by headless Chromium (skipped, with a message, without /usr/bin/chromium).
browser: setup
	$(PY) -m pytest tests/test_browser.py -q -p no:cacheprovider

# A workshop: the chapters in JupyterLab, widgets on (LOCALBOOK_HEADLESS is removed for it).
lab: setup
	VENV=$(VENV) bash tools/lab.sh $(LAB_ARGS)

nbval: setup
	@for py in $(NOTEBOOKS); do nb=$${py%.py}.ipynb; start=$$(date +%s); \
	  $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-cell-timeout $(NB_TIMEOUT) \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg "$$nb"; \
	  echo "[nbval] $$nb re-executed and checked in $$(( $$(date +%s) - start )) s"; done

smoke: setup
	mkdir -p _build/smoke
	@for py in $(NOTEBOOKS); do name=$$(basename $${py%.py}); start=$$(date +%s); \
	  $(BIN)/papermill notebooks/$$name.ipynb _build/smoke/$$name.ipynb -k python3 --cwd notebooks \
	    --execution-timeout 300 --no-progress-bar -p smoke True -p interactive False; \
	  echo "[smoke] $$name in $$(( $$(date +%s) - start )) s"; done

bench: setup
	$(PY) -m pip install -q -e ".[bench]" 2>&1 | grep -v "is ignored" || true
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf _build
