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

.PHONY: help setup lock test check lint typecheck unit integration mutation template sam-build bench bench-against dev demo events env-vars clean browser-deps qr-decoder

help:
	@echo "make demo   - start the local stack (moto + WeChat sandbox) and play every product flow"
	@echo "make test   - set up from nothing and run every check and test (what CI runs)"
	@echo "make dev    - run the local stack until Ctrl-C"
	@echo "make bench  - print the benchmark report"
	@echo "make bench-against REV=1827b9a - cold import and warm callback, this tree vs REV, in one run"
	@echo "make mutation - mutation testing of the pure packages: per-module scores, fails below the threshold"

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (pyenv install 3.13 or apt install python3.13)"; exit 1; }
	@test ! -x $(PY) || $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || rm -rf $(VENV)
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --constraint constraints.txt
	@touch $@

# Pin the newest versions pyproject.toml allows, so a fresh clone installs exactly what was tested: resolved in a
# throwaway venv WITHOUT constraints.txt (installing with it could never move a version), then the layer's pins are
# set to the same versions (a new dependency of the layer makes tests/infrastructure ask for its pin). Run `make
# test` after it.
lock:
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (pyenv install 3.13 or apt install python3.13)"; exit 1; }
	@set -euo pipefail; fresh=$$(mktemp -d); trap 'rm -rf "$$fresh"' EXIT; \
	  $(PYTHON313) -m venv "$$fresh"; \
	  "$$fresh/bin/python" -m pip install --quiet --upgrade pip; \
	  "$$fresh/bin/python" -m pip install --quiet -e '.[dev]'; \
	  { echo "# Versions the checks and tests were last run with (pip constraints for \`make setup\`; regenerate: \`make lock\`)."; \
	    "$$fresh/bin/python" -m pip freeze --exclude-editable | grep -v '^wxfunnel'; } > constraints.txt.new; \
	  mv constraints.txt.new constraints.txt
	$(PYTHON313) -c "$$REPIN_LAYER"
	$(MAKE) setup

define REPIN_LAYER
import re
from pathlib import Path
norm = lambda name: name.strip().lower().replace("_", "-")
pins = dict(norm(line).split("==", 1) for line in Path("constraints.txt").read_text().splitlines() if "==" in line and not line.startswith("#"))
layer = Path("layers/wxfunnel/requirements.txt")
repin = lambda m: m[1] + "==" + pins.get(norm(m[1]), m[2])
layer.write_text(re.sub(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)", repin, layer.read_text()))
endef
export REPIN_LAYER

setup: $(VENV)/.installed

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# For humans: `make test` runs the same two checks in tests/infrastructure/test_sam_build.py.
template: setup
	$(BIN)/cfn-lint template.yaml --include-checks I
	$(BIN)/sam validate --lint --template template.yaml

sam-build: setup
	$(BIN)/sam build --template template.yaml --build-dir .aws-sam/build --parallel

check: lint typecheck

# Chromium and chromedriver for tests/browser (Debian packages; a no-op once installed).
browser-deps:
	tools/install-browser.sh

# zbarimg, the independent decoder the print-file tests read QR codes back with (a Debian package; no-op once there).
qr-decoder:
	tools/install-qr-decoder.sh

# One command that sets everything up and runs every test: lint, types, then pytest (unit, integration,
# infrastructure with cfn-lint and `sam validate --lint`, e2e, browser, resilience).
test: check browser-deps qr-decoder
	$(PY) -m pytest -n 2 --dist loadgroup

unit: setup
	$(PY) -m pytest tests/unit -q

integration: setup
	$(PY) -m pytest tests/integration -q

# Mutants of protocol, config, domain and flows against tests/unit; fails below [tool.wxfunnel.mutation] fail_under.
# Incremental (results kept in mutants/); MUTATION_ARGS=--fresh starts from nothing, as CI does.
mutation: setup
	$(PY) -m wxfunnel_tools.mutation check $(MUTATION_ARGS)

bench: setup
	$(PY) -m wxfunnel_tools.bench

# Before and after in one run: this tree against REV (default: 1827b9a, the layout before the layered redesign),
# alternating between the two so a load drift hits both alike.
REV ?= 1827b9a
bench-against: setup
	$(PY) -m wxfunnel_tools.bench.against $(REV)

dev: setup
	$(BIN)/wxfunnel local

demo: setup
	$(PY) -m wxfunnel_tools.demo

events: setup
	$(PY) -m wxfunnel_tools.events

# events/env.json for `sam local invoke --env-vars`: each function's environment as the deployed stack STACK (default:
# samconfig.toml's) gives it (README, "sam build and sam local invoke").
env-vars: setup
	$(PY) -m wxfunnel_tools.envvars $(if $(STACK),--stack-name $(STACK))

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache mutants
