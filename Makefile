# Set-up commands of the README: `make demo`, `make test`, `make bench`, `make lint`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-demo demo test test-fast bench lint clean

# The demo needs the package and the timeline it draws; tests, lint and bench need the dev
# extras too (pytest, mypy, sqlfluff, ...). A dev install serves the demo as well.
install-demo: $(VENV)/.installed-demo

install: $(VENV)/.installed

$(VENV)/.installed-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[timeline]'
	touch $@

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,timeline]'
	touch $@ $(VENV)/.installed-demo

demo: install-demo
	$(BIN)/ivs-replicas demo

test: install
	$(BIN)/python -m pytest -n 2

test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not slow"

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check pipelines tests bench sql
	$(BIN)/ruff format --check pipelines tests bench sql
	$(BIN)/mypy -p ivs_replicas -p ivs_realtime_emulator
	$(BIN)/sqlfluff lint sql

clean:
	rm -rf $(VENV) demo *.egg-info .pytest_cache .mypy_cache .ruff_cache
