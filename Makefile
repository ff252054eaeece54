# Two commands matter: `make run` and `make test`. Both work from a clean clone with only python3 and make.
# `make run ARGS="--time-scale 60"` passes ARGS on to `nemo-mock serve`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

.PHONY: run test lint install install-test test-tools bench cassettes clean

# "ok", or the version of a Python older than 3.11 (empty if $(PYTHON) does not run). Expanded only when the
# venv is made, so a check that fails stops make with its one line before anything is created.
PYTHON_OK = $(shell $(PYTHON) -c 'import sys; print("ok" if sys.version_info >= (3, 11) else "%d.%d" % sys.version_info[:2])' 2>/dev/null)

# A venv that fails half-way is removed (unless the folder was there before), so the next make starts afresh.
$(BIN)/python:
	$(if $(filter ok,$(PYTHON_OK)),,$(error nemo-contract needs Python 3.11 or newer, and $(PYTHON) is $(or $(PYTHON_OK),not a Python that runs): run make with PYTHON=python3.11 (or newer)))
	@if [ -e "$(VENV)" ]; then made=; else made=1; fi; \
	echo "$(PYTHON) -m venv $(VENV)"; \
	$(PYTHON) -m venv "$(VENV)" || { [ -z "$$made" ] || rm -rf "$(VENV)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

run: install
	$(BIN)/nemo-mock serve --host $(HOST) --port $(PORT) $(ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# curl and jq: the README's walk-through and the audit's shell integrations use them. Installed with apt-get where
# they are missing and that can be done (a fresh CI machine); otherwise the tests that need them say they skip.
test-tools:
	@command -v curl >/dev/null && command -v jq >/dev/null || \
	  { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	    (apt-get update -qq && apt-get install -y -qq curl jq >/dev/null) ; } || \
	  echo "make: curl and jq are not installed here: the tests that need them will be skipped"

# Two workers (pytest-xdist): the suite takes about 5 minutes on 2 cores, 8 serially.
test: lint test-tools
	$(BIN)/pytest -n 2

bench: install-test
	$(BIN)/python -m bench

# The recordings shipped in the package (nemo_contract/recording/cassettes/), made again from the emulator: the same
# seed writes the same bytes (tests/toolkit/recording/test_shipped.py holds the shipped files to that).
cassettes: install-test
	$(BIN)/python -m tests.toolkit.recording.workflows --out nemo_contract/recording/cassettes

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
