# Two entry points (see README): `make demo` and `make test`. Each sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup bench clean

setup: $(VENV)/.installed

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(BIN)/verdict eval examples/cases/return-day-10.yaml --trace summary

test: setup
	$(BIN)/verdict validate
	$(BIN)/verdict test --coverage --min-coverage 100
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
