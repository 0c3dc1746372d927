# `make run` starts the sidecar in demo mode on SQLite; `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench

$(BIN)/personal-links: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/personal-links
	$(BIN)/personal-links --demo serve

test: $(BIN)/personal-links
	$(BIN)/python -m pytest

bench: $(BIN)/personal-links
	$(BIN)/python bench/run.py

lint: $(BIN)/personal-links
	$(BIN)/ruff check .
	$(BIN)/mypy plugin adapters webhooks
