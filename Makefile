# wxfunnel developer commands. Two matter most: `make demo` (the product on the local stack) and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The Lambda runtime is python3.13: the tests, the local stack and `sam build` all use that interpreter.
# tools/find-python.sh runs each candidate (a pyenv shim on PATH may only answer "command not found").
PYTHON313 ?= $(shell tools/find-python.sh 3.13)
export PATH := $(abspath $(BIN)):$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: help setup lock test check lint typecheck unit integration template sam-build bench dev demo events clean browser-deps

help:
	@echo "make demo   - start the local stack (moto + WeChat sandbox) and play every product flow"
	@echo "make test   - set up from nothing and run every check and test (what CI runs)"
	@echo "make dev    - run the local stack until Ctrl-C"
	@echo "make bench  - print the benchmark report"

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (pyenv install 3.13 or apt install python3.13)"; exit 1; }
	@test ! -x $(PY) || $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || rm -rf $(VENV)
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --constraint constraints.txt
	@touch $@

# Pin what the dev environment resolved to, so a fresh clone installs exactly what was tested.
lock: setup
	{ echo "# Versions the checks and tests were last run with (pip constraints for \`make setup\`; regenerate: \`make lock\`)."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^wxfunnel'; } > constraints.txt

setup: $(VENV)/.installed

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

template: setup
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml

sam-build: setup
	$(BIN)/sam build --template template.yaml --build-dir .aws-sam/build --parallel

check: lint typecheck template

# Chromium and chromedriver for tests/browser (Debian packages; a no-op once installed).
browser-deps:
	tools/install-browser.sh

# One command that sets everything up and runs every test: lint, types, template, unit, integration, infrastructure.
test: check browser-deps
	$(PY) -m pytest -n 2 --dist loadgroup

unit: setup
	$(PY) -m pytest tests/unit -q

integration: setup
	$(PY) -m pytest tests/integration -q

bench: setup
	$(PY) -m wxfunnel_tools.bench

dev: setup
	$(BIN)/wxfunnel local

demo: setup
	$(PY) -m wxfunnel_tools.demo

events: setup
	$(PY) -m wxfunnel_tools.events

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
