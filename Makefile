# `make run` starts the sidecar in demo mode on SQLite; `make test` runs the whole test suite;
# `make install` only makes .venv with the project installed (it starts nothing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench

$(BIN)/personal-links: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/personal-links

run: $(BIN)/personal-links
	$(BIN)/personal-links --demo serve

test: $(BIN)/personal-links
	$(BIN)/python -m pytest

lint: $(BIN)/personal-links
	$(BIN)/ruff check .
	$(BIN)/mypy plugin adapters webhooks
