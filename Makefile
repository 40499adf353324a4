# The two commands a fresh clone needs: `make demo` and `make test`. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# No telemetry, for the tools run here directly (dvc, mlflow ui, mlflow models serve): the
# switches of reactdiff/telemetry.py, which every Python entry point sets itself.
$(foreach switch,$(shell $(PYTHON) reactdiff/telemetry.py),$(eval export $(switch)))
export PATH := $(BIN):$(PATH)

.PHONY: help setup remote demo test docs docs-serve lint format dvc-deps clean prefect-up prefect-down platform-up platform-down platform-status ui

PREFECT_PORT ?= 4200
# make platform-up: PostgreSQL, and the MLflow and Prefect servers on it (all on 127.0.0.1)
PLATFORM_PG_PORT ?= 5433
PLATFORM_MLFLOW_PORT ?= 5002
PLATFORM_PREFECT_PORT ?= 4201
PLATFORM_WORKERS ?= cpu
# the DVC remote `make setup` makes the default (in .dvc/config.local, not committed): shared by
# every clone on this machine, so a second clone gets the trained outputs with `dvc pull`
DVC_REMOTE ?= $(HOME)/.cache/reactdiff/dvc-remote
PREFECT_WORKERS ?= cpu
# pytest worker processes of `make test` (pytest-xdist); 0 runs the suite in pytest itself
TEST_WORKERS ?= 2

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP) remote  ## create .venv (if missing), install the project with its pinned deps, set the DVC remote

remote:  ## make DVC_REMOTE the default DVC remote, unless one is set (needs the venv: setup)
	@if current=$$(dvc remote default 2>/dev/null); then \
	  echo "DVC remote: $$current (kept; \`dvc remote list\` shows it)"; \
	else \
	  mkdir -p "$(DVC_REMOTE)" && dvc remote add --local --default local "$(DVC_REMOTE)" >/dev/null && \
	  echo "DVC remote: local -> $(DVC_REMOTE) (dvc push / dvc pull)"; \
	fi

demo: setup  ## run the whole pipeline (the Prefect flow over the DVC stages) on the synthetic drop
	python -m flows.pipeline
	@echo
	@echo "Done. Where to look:"
	@echo "  reports/eval.md, reports/eval.png  REACT metrics of every method (dvc metrics show)"
	@echo "  reports/videos/                   test clips: the real listener next to ReactDiff's reactions"
	@echo "  data/raw/                         the synthetic REACT drop"
	@echo "  data/validation/summary.json      validation summary"
	@echo "  data/validation/data_docs/index.html   Great Expectations Data Docs"
	@echo "  data/splits/                      splits, mirrored sample order, neighbour matrices"
	@echo "  make ui (http://127.0.0.1:5000)    MLflow: one parent run per pipeline run, a nested run per stage"
	@echo "  dvc dag / dvc status              the pipeline and what is up to date"

lint: setup  ## ruff: lint and format check
	ruff check .
	ruff format --check .

format: setup  ## apply ruff's formatting
	ruff format .

dvc-deps: setup  ## rewrite dvc.yaml's code deps: each stage's import closure (tools/dvc_deps.py)
	python -m tools.dvc_deps

test: setup  ## ruff (lint and format check), the docs site (strict), then the whole test suite (slow tests included)
	ruff check .
	ruff format --check .
	mkdocs build --strict --quiet --site-dir $(DOCS_SITE)
	@rc=0; pytest -n $(TEST_WORKERS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

# mkdocs build --strict: a broken link, a missing page or anchor fails the build (mkdocs.yml)
DOCS_SITE ?= site
DOCS_PORT ?= 8000
export NO_MKDOCS_2_WARNING := 1

docs: setup  ## build the docs site (mkdocs-material, strict) into site/; open site/index.html
	mkdocs build --strict --site-dir $(DOCS_SITE)

docs-serve: setup  ## serve the docs on http://127.0.0.1:8000, rebuilt on every edit (DOCS_PORT)
	mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

clean:  ## remove generated data, reports and the local MLflow store (keeps .venv)
	rm -rf data/raw data/validation data/splits data/features metrics reports mlflow.db mlruns mlartifacts

prefect-up: setup  ## local Prefect server (UI on :4200), cpu/gpu pools, deployments, a cpu worker
	python -m ops.prefect_stack up --port $(PREFECT_PORT) --workers $(PREFECT_WORKERS)

prefect-down:  ## stop the Prefect workers and server that prefect-up started
	python -m ops.prefect_stack down

platform-up: setup  ## PostgreSQL (:5433) + MLflow (:5002) and Prefect (:4201) on it, deployments, a cpu worker; run again, it starts only what died
	python -m ops.platform up --pg-port $(PLATFORM_PG_PORT) --mlflow-port $(PLATFORM_MLFLOW_PORT) --prefect-port $(PLATFORM_PREFECT_PORT) --workers $(PLATFORM_WORKERS)

platform-down:  ## stop the workers, servers and PostgreSQL that platform-up started
	python -m ops.platform down

platform-status:  ## each platform service running, degraded (e.g. MLflow without its database) or stopped
	python -m ops.platform status

ui: setup  ## MLflow UI on http://127.0.0.1:5000 over sqlite:///mlflow.db (or MLFLOW_TRACKING_URI)
	mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" --host 127.0.0.1 --port 5000

.PHONY: serve
serve: setup  ## serve models:/reactdiff@champion on http://127.0.0.1:5001 from sqlite:///mlflow.db (or MLFLOW_TRACKING_URI), within params.yaml's serving limits
	MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" reactdiff serve --model "$${SERVE_MODEL:-models:/reactdiff@champion}" --host 127.0.0.1 --port "$${SERVE_PORT:-5001}"
