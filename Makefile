# Set-up commands of the README: `make demo`, `make test`, `make bench`, `make lint`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test test-fast bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,timeline]'
	touch $@

demo: install
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
