# Two entry points (see README): `make demo` and `make test`. Each sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup browser fuzz bench bench-batch bench-hardening bench-symbolic bench-prove bench-settle clean

setup: $(VENV)/.installed

# Reinstall when the project's dependencies change. The editable install is a path entry (compat
# mode), not an import hook, and the bytecode is compiled as a wheel's install would: a `verdict`
# process starts in a fraction of the time (bench/coldstart.py).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,dask]' --config-settings editable_mode=compat
	$(BIN)/python -m compileall -q engine cli.py
	touch $@

# One screen: the decision and its reasons; its last line says how to see the facts and the full trace.
demo: setup
	$(BIN)/verdict eval examples/cases/return-day-10.yaml --brief

# The HTML report is checked in a real headless browser: Debian's chromium, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The property tests (tests/test_properties.py) run inside pytest; then the fuzzer, for FUZZ_TEST_SECONDS
# in all (two targets at a time, each also taking a few seconds to start), with a fixed seed.
FUZZ_TEST_SECONDS ?= 20

test: setup browser
	$(BIN)/verdict validate
	$(BIN)/verdict test --coverage --min-coverage 100
	$(BIN)/pytest
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_TEST_SECONDS) --jobs 2 --seed 1

# The fuzzer for longer (`make fuzz FUZZ_SECONDS=600`), a new seed each run; what it learns is kept
# in .fuzz/corpus, and a failing input in .fuzz/crashes (see fuzz/run.py).
FUZZ_SECONDS ?= 300

fuzz: setup
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS)

# The benchmarks also need zen-engine (the `bench` extra), which `make test` never installs.
# 4 to 8 minutes on 2 cores, with other load; every figure also goes to bench/results/*.json (not committed).
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,dask,bench]' --config-settings editable_mode=compat
	touch $@

bench: setup $(VENV)/.bench-installed
	$(BIN)/python -m compileall -q engine cli.py
	mkdir -p bench/results
	$(BIN)/python bench/bench.py --json bench/results/aqara.json
	$(BIN)/python bench/core_return/run.py --json bench/results/core-return.json
	$(BIN)/python bench/scaling.py --sizes 10,100,1000 --json bench/results/scaling.json
	$(BIN)/python bench/coldstart.py --json bench/results/coldstart.json
	$(BIN)/python bench/log_append.py --json bench/results/log-append.json

# `verdict batch` on 100,000 and 1,000,000 generated cases: throughput with 1 and 2 jobs, peak memory.
# About 15 minutes on 2 cores.
bench-batch: setup
	mkdir -p bench/results
	$(BIN)/python bench/batch.py --cases 100000 --repeat 10 --rounds 3 --json bench/results/batch.json

# Issue 8's 16 rows as whole `verdict` processes: exit codes, seconds and peak memory, each checked
# (no exit 70, no traceback, no hang). About 20 seconds; not part of `make test` (the suite tests each row).
bench-hardening: setup
	mkdir -p bench/results
	$(BIN)/python bench/hardening.py --json bench/results/hardening.json

# Solver queries on the symbolic form of the Aqara policy and each variant (bench/symbolic.py): seconds,
# answers and z3's resource units per query; a canonical witness too. Not part of `make bench`.
bench-symbolic: setup
	mkdir -p bench/results
	$(BIN)/python bench/symbolic.py --witness --json bench/results/symbolic.json

# `verdict prove aqara-returns`: every property of the policy and its variants, as whole processes; the goal
# is 10 s. About a minute.
bench-prove: setup
	mkdir -p bench/results
	$(BIN)/python bench/prove.py --json bench/results/prove.json

# Decisions of cases that lack one or two dates (the solver settles their open outputs), and a check
# that a complete case never imports z3.
bench-settle: setup
	mkdir -p bench/results
	$(BIN)/python bench/settle.py --json bench/results/settle.json

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build .fuzz
