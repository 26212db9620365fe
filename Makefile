# Each target sets itself up: a fresh machine with Python 3.11+ needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/jobwatch: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit("jobwatch needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

demo: $(BIN)/jobwatch
	$(BIN)/jobwatch demo

test: $(BIN)/jobwatch
	$(BIN)/python -m pytest

lint: $(BIN)/jobwatch
	$(BIN)/ruff check watcher tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
