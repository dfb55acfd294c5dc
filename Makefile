# Two entry points (see README): `make demo` and `make test`. Each sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup browser bench clean

setup: $(VENV)/.installed

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(BIN)/verdict eval examples/cases/return-day-10.yaml --trace summary

# The HTML report is checked in a real headless browser: Debian's chromium, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: setup browser
	$(BIN)/verdict validate
	$(BIN)/verdict test --coverage --min-coverage 100
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
