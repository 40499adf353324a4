# The two commands a fresh clone needs: `make demo` and `make test`. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# No telemetry: there is no network, and nobody asked to be tracked.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export GX_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PATH := $(BIN):$(PATH)

.PHONY: help setup demo test lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP)  ## create .venv (if missing) and install the project with its pinned deps

demo: setup  ## run the whole pipeline (dvc repro) on the synthetic drop
	dvc repro
	@echo
	@echo "Done. Where to look:"
	@echo "  data/raw/                         the synthetic REACT drop"
	@echo "  data/validation/summary.json      validation summary"
	@echo "  data/validation/data_docs/index.html   Great Expectations Data Docs"
	@echo "  data/splits/                      splits, mirrored sample order, neighbour matrices"
	@echo "  mlflow ui --backend-store-uri sqlite:///mlflow.db   runs, params, artifacts"
	@echo "  dvc dag / dvc status              the pipeline and what is up to date"

lint: setup  ## ruff
	ruff check .

test: setup  ## ruff, then the whole test suite (slow tests included)
	ruff check .
	@rc=0; pytest || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

clean:  ## remove generated data, reports and the local MLflow store (keeps .venv)
	rm -rf data/raw data/validation data/splits mlflow.db mlruns mlartifacts
