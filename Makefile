# The few entry points people type. `make run` and `make test` are the quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Re-install only when the project's dependencies change.
STAMP_RUN  = $(VENV)/.installed-run
STAMP_TEST = $(VENV)/.installed-test

# What `make lint` (and CI, and the pre-commit hooks) check.
PY_PATHS    = src tests bench scripts dags lint
DBT_PROJECT = src/frota/warehouse/dbt_project
# sqlfluff renders the dbt project once per warehouse engine: lint/sqlfluff/<engine>.cfg.
SQL_ENGINES = duckdb postgres

.PHONY: run test lint lint-py lint-sql bench setup clean three-hosts wheel-test i18n

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

# gettext catalogs: the .po files are the source; an install compiles them (setup.py), and so
# do `make test` and `make i18n` when a .po is newer than its .mo.
LOCALES = src/frota/locale
CATALOGS = $(patsubst %.po,%.mo,$(wildcard $(LOCALES)/*/LC_MESSAGES/frota.po))

$(LOCALES)/%/LC_MESSAGES/frota.mo: $(LOCALES)/%/LC_MESSAGES/frota.po | $(STAMP_TEST)
	$(BIN)/pybabel compile --domain frota --input-file $< --output-file $@

setup: $(STAMP_RUN)

## run: set up and run the whole pipeline on embedded defaults (SQLite, data/landing)
run: $(STAMP_RUN)
	$(BIN)/frota run

## test: set up the test environment and run the whole suite (PYTEST_WORKERS processes, by file)
# Two workers, one test file each at a time (pytest-xdist, --dist loadfile): a file's tests share
# what they set up (the crontab, fixed MariaDB user names) and never meet another file's.
PYTEST_WORKERS ?= 2
test: $(STAMP_TEST) $(CATALOGS)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## i18n: extract every message, update the catalogs (src/frota/locale/*/LC_MESSAGES/frota.po), compile them
i18n: $(STAMP_TEST)
	mkdir -p build
	$(BIN)/pybabel extract --mapping-file pyproject.toml --keyword N_ --keyword Nn_:1,2 \
		--add-location file --sort-by-file --project frota \
		--version "$$($(BIN)/python -c 'import frota; print(frota.__version__)')" \
		--copyright-holder "the frota authors" --msgid-bugs-address "the frota issue tracker" \
		--output-file build/frota.pot src/frota
	$(BIN)/pybabel update --domain frota --input-file build/frota.pot --output-dir $(LOCALES) \
		--ignore-obsolete --width 100
	$(BIN)/pybabel compile --domain frota --directory $(LOCALES) --statistics

## wheel-test: build sdist + wheel, install the wheel in a fresh virtualenv, use it from an empty folder
wheel-test: $(STAMP_TEST)
	PYTHON=$(BIN)/python bash scripts/wheel-test.sh

## lint: ruff (lint and format), mypy on src, sqlfluff on the dbt project; fails on a finding
lint: lint-py lint-sql

lint-py: $(STAMP_TEST)
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)
	$(BIN)/mypy

lint-sql: $(STAMP_TEST)
	@for engine in $(SQL_ENGINES); do \
		echo "sqlfluff lint ($$engine)"; \
		$(BIN)/sqlfluff lint --config lint/sqlfluff/$$engine.cfg \
			$(DBT_PROJECT)/models $(DBT_PROJECT)/tests || exit 1; \
	done

bench: $(STAMP_TEST)
	$(BIN)/python bench/load_benchmark.py $(BENCH_ARGS)
	$(BIN)/python bench/warehouse_benchmark.py --markdown docs/benchmarks.md

## three-hosts: source, drive, server and analytics in network namespaces, with faults (root)
three-hosts:
	bash scripts/three-hosts.sh

clean:
	rm -rf $(VENV) data
