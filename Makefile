# Keel: every target installs what it needs first. `make demo` and `make test` are all a fresh
# machine needs (Python 3.11+, Node 20+, make).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev

# Quiet, offline-safe defaults for the CDK toolchain and for pip on machines with extra indexes.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo test lint typecheck unit synth deploy diff bench clean

help:
	@echo "make demo     set up, synthesize, run every automation's sample events on the local cloud"
	@echo "make test     set up, lint, type-check and run the whole test suite with branch coverage"
	@echo "make synth    synthesize every environment into cdk.out (cdk-nag enforced)"
	@echo "make deploy ENV=dev|staging|prod   cdk deploy one environment (needs AWS credentials)"
	@echo "make lint     ruff (incl. complexity) and mypy"

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Keel needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@PIP_EXTRA_INDEX_URL= PIP_FIND_LINKS= $(PY) -m pip install --quiet --no-warn-script-location \
		--config-settings editable_mode=compat -c constraints.txt -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

install: $(VENV)/.installed node_modules/.installed

synth: $(VENV)/.installed
	@rm -rf cdk.out
	@$(PY) app.py
	@echo "synthesized: $$(ls cdk.out/assembly-*/*.template.json | tr '\n' ' ')"

demo: $(VENV)/.installed
	@$(PY) -m keel demo

lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

# One worker per core; a file's tests stay on one worker, so its fixtures are built once.
test: lint
	@$(VENV)/bin/pytest -n auto --dist loadfile

deploy: install
	@test -n "$(ENV)" || (echo "usage: make deploy ENV=dev|staging|prod" >&2; exit 2)
	@npx --no-install cdk deploy --no-notices --app "$(PY) app.py" "$(ENV)/*" --require-approval broadening

diff: install
	@npx --no-install cdk diff --no-notices --app "$(PY) app.py" "$(ENV)/*"

bench: $(VENV)/.installed
	@$(PY) -m keel bench

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache .coverage coverage.xml
