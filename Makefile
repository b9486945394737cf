# Quick start: `make run` serves the relay on 127.0.0.1:8080 with an embedded
# SQLite store; `make test` installs the test dependencies and runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SCIMRELAY_ALLOW_PRIVATE_DOWNSTREAMS ?= true

.PHONY: run test lint bench fuzz clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/activate

run: $(BIN)/activate
	$(BIN)/scimrelay serve --host 127.0.0.1 --port 8080

test: $(BIN)/activate
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest

lint: $(BIN)/activate
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Benchmark-only Python dependencies (matplotlib, py-spy). bench/run.py installs nginx
# and wrk with apt-get itself when they are missing.
$(VENV)/.bench-deps: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

# Extra options, e.g. `make bench BENCH_ARGS=--quick`.
bench: $(VENV)/.bench-deps
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# A long property-test run of the SCIM endpoint's parsing, outside the suite.
fuzz: $(BIN)/activate
	SCIMRELAY_FUZZ_EXAMPLES=$${SCIMRELAY_FUZZ_EXAMPLES:-20000} \
		$(BIN)/python -m pytest -m fuzz tests/fuzz -p no:logging

clean:
	rm -rf $(VENV) .scimrelay
