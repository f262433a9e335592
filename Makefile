# Two commands matter: `make demo` and `make test`. Everything else is what they are made of.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-dev-$(SUM)
RUNTIME := $(VENV)/.installed-$(SUM)

.PHONY: demo test install dev lint bench services clean

demo: install
	$(BIN)/tiered-router demo

test: dev services
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q

# The stamps carry pyproject.toml's checksum: a new dependency reinstalls, for `make demo` as for `make test`.
install: $(RUNTIME)

$(RUNTIME): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

dev: $(STAMP)

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@ $(RUNTIME)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed; set PYTHON=python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Start (or install and start) what the tests need: PostgreSQL on loopback, and Chromium for the dashboard test.
services:
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: dev
	$(BIN)/python bench/classify_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
