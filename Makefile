# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench locales extract install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[all]'
	$(MAKE) locales

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) locales

## Compile the Babel catalogs (locales/*/LC_MESSAGES/messages.mo).
locales:
	$(BIN)/pybabel compile -d locales -D messages --statistics

## Re-extract strings from the source and merge them into every catalog (for translators).
extract:
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project interlink-bot -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

run: install
	$(BIN)/interlink db upgrade
	$(BIN)/interlink run

test: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy --strict bot storage
	$(BIN)/mypy interlinkers adapters
	$(BIN)/python -m pytest

## Benchmarks (not tests): every figure next to its baseline, printed to the terminal (~10 min).
bench: install-test
	$(BIN)/pip install --quiet -e '.[bench]'
	scripts/with-postgres bench/all.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy --strict bot storage
	$(BIN)/mypy interlinkers adapters

clean:
	rm -rf $(VENV) var .pytest_cache
