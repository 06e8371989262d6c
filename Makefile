# fraudwatch — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
# the optional parts the demo runs (pyproject.toml's extras): scoring API + feed server,
# dashboard, PostgreSQL/Neon driver, Redis client
EXTRAS := api,dashboard,postgres,redis

.PHONY: demo test lint format bench docs docs-serve venv venv-dev lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fraudwatch needs Python 3.11+, found " + sys.version.split()[0] + "; run e.g. make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[$(EXTRAS)]'
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP_INSTALL) -e '.[dev,$(EXTRAS)]'
	@touch $@

venv: $(VENV)/.runtime  ## create .venv with the runtime dependencies and the extras the demo runs
venv-dev: $(VENV)/.dev  ## create .venv with the development extras too

demo: venv  ## install, then run the live demo on the embedded defaults (Ctrl-C stops it)
	$(BIN)/fraudwatch demo

test: venv-dev  ## install with dev extras, then run the whole test suite
	$(BIN)/python -m pytest

lint: venv-dev  ## ruff (lint + format check), mypy (strict) and the import layers (import-linter)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: venv-dev  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: venv  ## run every benchmark; each prints one JSON line of figures
	@for script in $(filter-out benchmarks/__init__.py,$(wildcard benchmarks/*.py)); do \
		echo "== $$script" >&2; $(BIN)/python -m benchmarks.$$(basename $$script .py) || exit 1; done

docs: venv-dev  ## build the documentation site (MkDocs Material) into site/; warnings fail
	$(BIN)/mkdocs build --strict --site-dir site

docs-serve: venv-dev  ## serve the documentation site on http://127.0.0.1:8001, rebuilt on every edit
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

lock: venv-dev  ## re-pin constraints.txt from the current .venv (after changing dependencies)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fraudwatch' > constraints.txt

clean:  ## remove the virtual environment and caches (data/ is kept)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis site

# -- Airflow 3: its own venv (it pins FastAPI <0.137), locked by airflow/constraints.txt ---------
VENV_AIRFLOW ?= .venv-airflow
AIRFLOW_VERSION := 3.3.2
AIRFLOW_PIP := $(VENV_AIRFLOW)/bin/python -m pip install --quiet --disable-pip-version-check \
	-c airflow/constraints.txt

.PHONY: airflow airflow-venv airflow-lock clean-airflow hf-space

$(VENV_AIRFLOW)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fraudwatch needs Python 3.11+, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV_AIRFLOW)

# the tasks need the core, the Postgres driver and the Redis client: no API, no dashboard
$(VENV_AIRFLOW)/.installed: $(VENV_AIRFLOW)/bin/python airflow/constraints.txt pyproject.toml
	$(AIRFLOW_PIP) apache-airflow==$(AIRFLOW_VERSION) -e '.[postgres,redis]'
	@touch $@

airflow-venv: $(VENV_AIRFLOW)/.installed  ## create .venv-airflow: Airflow 3 + fraudwatch[postgres,redis], pinned by airflow/constraints.txt

airflow: airflow-venv  ## Airflow standalone on localhost with airflow/dags; prints the UI address and login
	$(VENV_AIRFLOW)/bin/python airflow/standalone.py

airflow-lock: airflow-venv  ## re-pin airflow/constraints.txt from the current .venv-airflow
	{ grep '^#' airflow/constraints.txt; $(VENV_AIRFLOW)/bin/python -m pip freeze \
		--exclude-editable | grep -v '^fraudwatch'; } > airflow/constraints.txt.new
	mv airflow/constraints.txt.new airflow/constraints.txt

hf-space: venv  ## build the dashboard's Hugging Face Space folder into build/hf-space (push it to the Space)
	$(BIN)/python -m fraudwatch.deploy.hf_space build/hf-space

clean-airflow:  ## remove .venv-airflow
	rm -rf $(VENV_AIRFLOW)

clean: clean-airflow

# the suite runs the Airflow tests in .venv-airflow (tests/airflow/), so `make test` builds it
test: $(VENV_AIRFLOW)/.installed
