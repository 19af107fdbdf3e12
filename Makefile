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

.PHONY: help setup book execute html run test unit nbval smoke sync bench clean

help:
	@echo "make book                      execute every chapter at its defaults, build _build/html"
	@echo "make test                      unit tests, pair sync, nbval, papermill smoke runs, book build"
	@echo "make run NB=00_local_methods PARAMS=\"-p dims '[2, 32]'\"   one chapter, outputs in _build/runs/"
	@echo "make bench                     benchmarks against named peers"

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

test: unit nbval smoke html

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests -q

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

# Each benchmark writes one JSON record per kernel into _build/bench/; report.py merges them into
# book/bench/records.json and rewrites book/how_fast.md. A failing benchmark is reported at the end.
bench: setup
	$(PY) -m pip install -q -e ".[bench,md]" 2>&1 | grep -v "is ignored" || true
	@failed=""; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	  $(PY) benchmarks/report.py; \
	  if [ -n "$$failed" ]; then echo "[bench] failed:$$failed"; exit 1; fi

clean:
	rm -rf _build
