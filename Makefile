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
# The build backend and what it asks for an editable install (`editables`), locked with the test tools.
BUILD_REQUIRES := import tomllib, hatchling.build as backend; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], \
	*backend.get_requires_for_build_editable(), sep="\n")

.PHONY: run test lint bench openapi update-deps clean

# The lock files (see README, Development): exact versions with the hashes of their files, resolved with uv for
# Python >= 3.11 on every platform. requirements.txt: what the bot runs on; requirements-test.txt: the same, plus
# the test tools and the build backend. The project itself is then installed without dependencies.
LOCK := requirements.txt
TEST_LOCK := requirements-test.txt
CHECK_PYTHON := import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")
# uv pip compile for the lock files; --universal keeps the environment markers, so one lock serves every platform.
COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make update-deps"

$(STAMP): pyproject.toml $(LOCK) $(TEST_LOCK)
	@$(PYTHON) -c '$(CHECK_PYTHON)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
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

## update-deps: refresh the lock files to the newest versions pyproject.toml allows (installs uv into .venv if needed)
update-deps:
	@$(PYTHON) -c '$(CHECK_PYTHON)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv && $(BIN)/python -c 'import hatchling' 2>/dev/null || $(BIN)/python -m pip install --quiet uv hatchling
	$(COMPILE) --upgrade pyproject.toml -o $(LOCK)
	$(BIN)/python -c '$(BUILD_REQUIRES)' | $(COMPILE) --upgrade pyproject.toml - --extra test -c $(LOCK) -o $(TEST_LOCK)
	@echo "Lock files refreshed: review the diff, then run make test (SQLAlchemy and aiosqlite: see tests/test_install.py)"

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
