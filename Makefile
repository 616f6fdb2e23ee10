# The two commands of the README: `make demo` and `make test`.
# Each creates .venv (if missing or out of date) and installs what it needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

lint: $(STAMP)
	$(BIN)/ruff check flowengine tests benchmarks demo
	$(BIN)/ruff format --check flowengine tests benchmarks demo
	$(BIN)/lint-imports  # the layers and contracts of [tool.importlinter]

typecheck: $(STAMP)
	$(BIN)/mypy --strict flowengine

# The fast tiers: every test that takes no database fixture (db_url) and starts no
# process (marker acceptance) nor is slow; tests/unit is among them. Under 30 s.
unit: $(STAMP)
	$(BIN)/pytest -q -m "not database and not acceptance and not slow"

# Everything: lint, types, and every test on SQLite (and on PostgreSQL when
# FLOWENGINE_TEST_POSTGRES_URL is set, as .ci/run sets it), the browser included.
test: lint typecheck
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
