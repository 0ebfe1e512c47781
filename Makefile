# Two entry points: `make demo` and `make test`. Both build .venv on a fresh machine.
# `make test-fast` is the fast tier for contributors: the tests that never import Feast.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/feast-federation demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15

# No test here imports Feast or starts a process that does (tests/support/fast_tier.py fails
# one that does); under 2 minutes on 2 cores.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" -n 2 --dist loadfile

# The full benchmark (about ten minutes on 2 cores): bench/results.{json,md}, bench/scaling.png;
# then materialization on each compute engine (about fifteen): bench/results/engines.{json,md}.
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/engines.py

# The documentation site in site/ (the tests build it with --strict too; `mkdocs serve` to read it).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site
