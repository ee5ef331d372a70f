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

# The editable install leaves the project's own modules uncompiled, and where
# PYTHONDONTWRITEBYTECODE is set (this workplace's machines, many containers) every command
# then compiles them again at start-up: 0.13 s of each `deadzone` run (docs/scale.md).
# Compiled here, as pip compiles what it installs into site-packages; a file edited later
# is compiled again in memory, never read stale.
install: $(BIN)/deadzone
	$(BIN)/python -m compileall -q service collectors maps domain simulation migrations

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
