# Each target sets itself up: a fresh machine with Python 3.11+ needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint docs image-check clean

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

# The Dockerfile's install steps, replayed without Docker (they fetch from the package registry, as an
# image build does; the tests themselves talk to 127.0.0.1 only).
image-check: $(BIN)/jobwatch
	$(BIN)/python -m pytest -m image tests/ops

docs: $(BIN)/jobwatch
	$(BIN)/python -m watcher.docgen --write docs/configuration.md
	$(BIN)/python -m watcher.docgen --write README.md

lint: $(BIN)/jobwatch
	$(BIN)/ruff check watcher tests bench
	$(BIN)/ruff format --check watcher tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
