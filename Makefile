# The few entry points people type. `make run` and `make test` are the quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Re-install only when the project's dependencies change.
STAMP_RUN  = $(VENV)/.installed-run
STAMP_TEST = $(VENV)/.installed-test

.PHONY: run test lint bench setup clean three-hosts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` is the whole pipeline on one machine: the base package and the warehouse extra.
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[warehouse]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@ $(STAMP_RUN)

setup: $(STAMP_RUN)

## run: set up and run the whole pipeline on embedded defaults (SQLite, data/landing)
run: $(STAMP_RUN)
	$(BIN)/frota run

## test: set up the test environment and run the whole suite
test: $(STAMP_TEST)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP_TEST)
	$(BIN)/python bench/load_benchmark.py $(BENCH_ARGS)
	$(BIN)/python bench/warehouse_benchmark.py --markdown docs/benchmarks.md

## three-hosts: source, drive, server and analytics in network namespaces, with faults (root)
three-hosts:
	bash scripts/three-hosts.sh

clean:
	rm -rf $(VENV) data
