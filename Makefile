# Two commands for a fresh clone: `make demo` and `make test`. Each creates the virtual
# environment and installs the project first (once; again when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint generate cassettes benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mdmbridge needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mdmbridge demo

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check .
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# What is generated from the entity registry: mdmbridge/writes.py, docs/export-schema.md.
generate: $(STAMP)
	$(BIN)/python -m mdmbridge.generate

# Re-record the vcrpy cassettes from the simulators (see cassettes/README.md).
cassettes: $(STAMP)
	MDMBRIDGE_RECORD_CASSETTES=1 $(BIN)/python -m pytest tests/test_cassettes.py

benchmark: $(STAMP)
	$(BIN)/python benchmarks/paging.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
