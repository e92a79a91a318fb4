# One command to try the bot, one to test it. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Rocket.Chat's OpenAPI files, which the fake Rocket.Chat of the tests checks every request against (see
# tests/fakerc/openapi.py): `make openapi` copies them from this commit of the official repository into the cache.
OPENAPI_REPO ?= https://github.com/RocketChat/Rocket.Chat-Open-API.git
OPENAPI_COMMIT := c9aec5ab1008b88aaf66f13f34f4fb74becb4b4a
OPENAPI_FILES := authentication messaging rooms settings user-management
OPENAPI_CACHE := .cache/rocketchat-openapi

.PHONY: run test lint bench openapi clean

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

## openapi: fetch Rocket.Chat's OpenAPI files (pinned commit) into .cache/, so that the tests check requests against them
openapi:
	@if [ "$$(cat $(OPENAPI_CACHE)/COMMIT 2>/dev/null)" = "$(OPENAPI_COMMIT)" ]; then \
	    echo "$(OPENAPI_CACHE) is up to date (commit $(OPENAPI_COMMIT))"; exit 0; fi; \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	if ! { git -C "$$tmp" init -q && GIT_TERMINAL_PROMPT=0 git -C "$$tmp" fetch -q --depth 1 \
	        "$(OPENAPI_REPO)" $(OPENAPI_COMMIT); } >/dev/null 2>&1; then \
	    echo "make openapi: cannot fetch $(OPENAPI_REPO) at $(OPENAPI_COMMIT) (no network?); tests run without the OpenAPI check" >&2; \
	    exit 1; fi; \
	mkdir "$$tmp/files" && \
	for name in $(OPENAPI_FILES); do git -C "$$tmp" show "FETCH_HEAD:$$name.yaml" > "$$tmp/files/$$name.yaml" || exit 1; done; \
	echo $(OPENAPI_COMMIT) > "$$tmp/files/COMMIT" && \
	rm -rf $(OPENAPI_CACHE) && mkdir -p $(dir $(OPENAPI_CACHE)) && cp -R "$$tmp/files" $(OPENAPI_CACHE) && \
	echo "$(OPENAPI_CACHE): Rocket.Chat's OpenAPI files at commit $(OPENAPI_COMMIT)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
