# peersim: the two commands a newcomer needs are `make run` and `make test`.
# Both create .venv with a Python >= 3.12 (found by .ci/find-python) and install peersim into it.

PYTHON ?= $(shell .ci/find-python)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench register install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python >= 3.12 found (see message above)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

## run: install and run the default scenario (own local coordinator, Fredericia, 5 years)
run: $(STAMP)
	$(BIN)/peersim $(ARGS)

## test: install and run the default (fast) test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q $(ARGS)

## test-slow: also the slow, many-replication checks
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "" $(ARGS)

## bench: replications per second and whole-process time, on this machine; then what a sweep
##        costs against the same runs in a one-core loop (SWEEP_ARGS, e.g. SWEEP_ARGS="--big 0")
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(ARGS)
	$(BIN)/python benchmarks/sweep_overhead.py $(SWEEP_ARGS)

## register: regenerate the parameter evidence register docs/parameters.md and .csv from conf/
##           (`make register ARGS=--check` only checks that they are current)
register: $(STAMP)
	$(BIN)/peersim-register $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache build dist
