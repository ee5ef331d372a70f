# The recipes developers run and CI runs (.ci/run calls these same targets).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DEADZONE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/deadzone_test

.PHONY: install demo test lint bench

$(BIN)/deadzone: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/deadzone

demo: install
	$(BIN)/deadzone demo --out deadzone-out

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check service collectors maps migrations tests benchmarks domain simulation
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m benchmarks.ingest
	$(BIN)/python -m benchmarks.aggregate
