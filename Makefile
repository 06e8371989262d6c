# fraudwatch — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint format bench venv venv-dev lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fraudwatch needs Python 3.11+, found " + sys.version.split()[0] + "; run e.g. make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP_INSTALL) -e '.[dev]'
	@touch $@

venv: $(VENV)/.runtime  ## create .venv with the runtime dependencies
venv-dev: $(VENV)/.dev  ## create .venv with the development extras

demo: venv  ## install, then run the live demo on the embedded defaults (Ctrl-C stops it)
	$(BIN)/fraudwatch demo

test: venv-dev  ## install with dev extras, then run the whole test suite
	$(BIN)/python -m pytest

lint: venv-dev  ## ruff (lint + format check) and mypy (strict)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: venv-dev  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: venv  ## run every benchmark; each prints one JSON line of figures
	@for script in $(filter-out benchmarks/__init__.py,$(wildcard benchmarks/*.py)); do \
		echo "== $$script" >&2; $(BIN)/python -m benchmarks.$$(basename $$script .py) || exit 1; done

lock: venv-dev  ## re-pin constraints.txt from the current .venv (after changing dependencies)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fraudwatch' > constraints.txt

clean:  ## remove the virtual environment and caches (data/ is kept)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
