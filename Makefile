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

SCALE    ?=
# Each chapter loop runs every chapter, then fails listing the ones that failed (not at the first).
define each_chapter
	@failed=""; for py in $(NOTEBOOKS); do name=$$(basename $${py%.py}); nb=notebooks/$$name.ipynb; \
	  start=$$(date +%s); if $(1); then echo "[$(2)] $$name in $$(( $$(date +%s) - start )) s"; \
	  else echo "[$(2)] $$name FAILED after $$(( $$(date +%s) - start )) s"; failed="$$failed $$name"; fi; done; \
	  if [ -n "$$failed" ]; then echo "[$(2)] failed:$$failed"; exit 1; fi
endef

.PHONY: help setup book execute html run record runs test unit lint nbval smoke sync bench clean lab browser

help:
	@echo "make book                      execute every chapter at its defaults, build _build/html"
	@echo "make test                      unit tests, pair sync, nbval, papermill smoke runs, book build"
	@echo "make run NB=00_local_methods PARAMS=\"-p dims '[2, 32]'\"   one chapter, outputs in _build/runs/"
	@echo "make run NB=02_qm9_regression SCALE=medium   one chapter at a scale preset (quick, medium, thesis)"
	@echo "make record NB=00_local_methods SCALE=medium   run a chapter on purpose into runs/, with its provenance"
	@echo "make runs                      list the recorded runs and whether the code they depend on changed"
	@echo "make bench                     benchmarks against named peers"
	@echo "make lab                       the chapters in JupyterLab, with their widgets (LAB_ARGS=\"--no-browser\")"

setup: $(STAMP)
$(STAMP): pyproject.toml tools/setup_env.sh
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/setup_env.sh
	touch $@

# Pair every .py with its .ipynb (the .py is the source), then execute in place at the defaults.
sync: setup
	$(BIN)/jupytext --sync $(NOTEBOOKS) 2>&1 | { grep -v "^\[jupytext\] Reading" || true; }

execute: sync
	$(call each_chapter,$(BIN)/papermill "$$nb" "$$nb" -k python3 --execution-timeout $(NB_TIMEOUT) --cwd notebooks --no-progress-bar,book)

html: setup
	bash tools/fetch_mathjax.sh
	$(PY) -m localbook.runs render
	$(PY) tools/copy_plotly_js.py
	$(BIN)/jupyter-book build -W -n --keep-going .

book: execute html
	@echo "[book] open _build/html/index.html"

run: setup
	@test -n "$(NB)" || { echo "usage: make run NB=00_local_methods PARAMS=\"-p name value ...\""; exit 2; }
	@test -f notebooks/$(NB).ipynb || { echo "no notebook notebooks/$(NB).ipynb; choose one of: $(notdir $(basename $(NOTEBOOKS)))"; exit 2; }
	mkdir -p _build/runs
	$(BIN)/papermill notebooks/$(NB).ipynb _build/runs/$(NB)$(if $(SCALE),.$(SCALE)).ipynb -k python3 --cwd notebooks \
	  --execution-timeout $(NB_TIMEOUT) -p interactive False $(if $(SCALE),-p scale $(SCALE)) $(PARAMS)
	@echo "[run] wrote _build/runs/$(NB)$(if $(SCALE),.$(SCALE)).ipynb"

record: setup
	@test -n "$(NB)" -a -n "$(SCALE)" || { echo "usage: make record NB=00_local_methods SCALE=medium [PARAMS=\"-p name value\"]"; exit 2; }
	$(PY) -m localbook.runs record $(NB) $(SCALE) $(PARAMS)

runs: setup
	$(PY) -m localbook.runs list

test: lint unit nbval smoke html browser

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests -q --ignore=tests/test_browser.py

# JupyterLab and the built book driven by headless Chromium (skipped, with a message, without /usr/bin/chromium).
browser: setup
	$(PY) -m pytest tests/test_browser.py -q -p no:cacheprovider

# A workshop: the chapters in JupyterLab, widgets on (LOCALBOOK_HEADLESS is removed for it).
lab: setup
	VENV=$(VENV) bash tools/lab.sh $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check localbook tests benchmarks tools notebooks

nbval: setup
	$(call each_chapter,$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-cell-timeout $(NB_TIMEOUT) --nbval-sanitize-with tests/nbval_sanitize.cfg "$$nb",nbval)

# SMOKE_INTERACTIVE=True builds the widgets in the smoke runs (interactive True, LOCALBOOK_HEADLESS removed): a
# widget that fails in a kernel then fails here, browser or not. Off by default: papermill (nbclient 0.11,
# ipykernel 7.4) sometimes waits forever on a cell once widgets are displayed -- both processes idle, the cell's
# reply never read (3 of 5 interactive runs of chapters 00-02 hung; none of 9 with --log-output or debug
# logging; upstream: jupyter/nbclient#312). The browser test (tests/test_browser.py) runs every chapter with its
# widgets in a real JupyterLab kernel instead, and moves one control of each.
SMOKE_INTERACTIVE ?= False
smoke: setup
	mkdir -p _build/smoke
	$(call each_chapter,env -u LOCALBOOK_HEADLESS $(BIN)/papermill "$$nb" _build/smoke/$$name.ipynb -k python3 --cwd notebooks --execution-timeout 300 --no-progress-bar -p smoke True -p interactive $(SMOKE_INTERACTIVE),smoke)

# Each benchmark writes one JSON record per kernel into _build/bench/; report.py merges them into
# book/bench/records.json and rewrites book/how_fast.md. A failing benchmark is reported at the end.
bench: setup
	$(PY) -m pip install -q -e ".[bench,md]" 2>&1 | grep -v "is ignored" || true
	@failed=""; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	  $(PY) benchmarks/report.py; \
	  if [ -n "$$failed" ]; then echo "[bench] failed:$$failed"; exit 1; fi

clean:
	rm -rf _build
