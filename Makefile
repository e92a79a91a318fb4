# One command to try the bot, one to test it. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## run: install if needed, then talk to the bot in this terminal (embedded SQLite, example configuration)
run: $(STAMP)
	$(BIN)/chatbot console

## test: install if needed, then lint, type-check and run the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: speed figures (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
bench: $(STAMP)
	$(BIN)/python scripts/bench_parse.py
	$(BIN)/python scripts/bench_budget.py
	$(BIN)/python scripts/bench_import.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
