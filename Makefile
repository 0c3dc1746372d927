# `make run` starts the sidecar in demo mode on SQLite; `make test` runs the whole test suite;
# `make test-fast` is the edit loop's part of it (SQLite only, no server processes, no browser);
# `make install` only makes .venv with the project installed (it starts nothing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-fast lint bench translations

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

test-fast: $(BIN)/personal-links
	PERSONAL_LINKS_TEST_FAST=1 $(BIN)/python -m pytest -q

bench: $(BIN)/personal-links
	$(BIN)/python bench/run.py

lint: $(BIN)/personal-links
	$(BIN)/ruff check .
	$(BIN)/mypy plugin adapters webhooks

# The respondent pages' catalogue: extract the texts, update each language's .po, compile the .mo files
# (committed; tests/plugin/test_translations.py checks they match their .po).
translations: $(BIN)/personal-links
	$(BIN)/pybabel extract -F plugin/translations/babel.cfg -k _l --no-location --sort-output \
		--project personal-links --version 0.1.0 --copyright-holder personal-links -o plugin/translations/messages.pot .
	$(BIN)/pybabel update -i plugin/translations/messages.pot -d plugin/translations --width 120 --ignore-obsolete
	$(BIN)/pybabel compile -d plugin/translations --statistics
