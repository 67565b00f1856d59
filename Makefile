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

.PHONY: help install demo test lint pre-commit typecheck unit synth deploy diff bench soak growth-check clean

help:
	@echo "make demo     set up, synthesize, run every automation's sample events on the local cloud"
	@echo "make test     set up, lint, type-check and run the whole test suite with branch coverage"
	@echo "make synth    synthesize every environment into cdk.out (cdk-nag enforced)"
	@echo "make deploy ENV=dev|staging|prod [AUTOMATION=name] [OWNER=team]   cdk deploy (needs AWS credentials)"
	@echo "make diff ENV=... [AUTOMATION=name] [OWNER=team]   cdk diff against what is deployed"
	@echo "make lint     ruff (incl. complexity) and mypy"
	@echo "make pre-commit   install the git hook that runs make lint's checks before each commit"
	@echo "make growth-check   the test suite on a copy grown by a new team's automations (about 3.5 minutes)"
	@echo "make soak [SOAK_EVENTS=1000]   10,000 events with faults through the local cloud, then where each ended"

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
	@$(PY) -m keel synth --outdir cdk.out

demo: $(VENV)/.installed
	@$(PY) -m keel demo

# The same three commands are the hooks of .pre-commit-config.yaml (a test keeps them equal).
lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

pre-commit: $(VENV)/.installed
	@$(VENV)/bin/pre-commit install

# One worker per core; a file's tests stay on one worker, so its fixtures are built once. Files start
# in collection order, the slowest first (tests/conftest.py), so the two workers end together. The
# CDK CLI is installed too: tests check the stacks it selects for `make deploy`.
test: lint node_modules/.installed
	@$(VENV)/bin/pytest -n auto --dist loadfile --no-loadscope-reorder

# The whole suite on a temporary copy of the repository (tracked files and working changes) that a new
# team has grown as the README says (tests/fixtures/growth/): a test that asserts today's exact catalog
# fails here. Not part of `make test`: it takes about as long again.
growth-check: $(VENV)/.installed node_modules/.installed
	@$(PY) scripts/growth_check.py

# Stacks to deploy or diff: the whole environment, or AUTOMATION=name(s) and/or OWNER=team(s). The CDK
# CLI adds the platform stack they depend on and skips any stack whose template did not change.
STACKS = $(VENV)/bin/keel stacks --env $(ENV) $(foreach a,$(AUTOMATION),--automation $(a)) $(foreach o,$(OWNER),--owner $(o))
# Automation stacks deploy this many at a time, after the platform stack (the CLI orders dependencies).
CONCURRENCY ?= 8
CDK := npx --no-install cdk
CDK_APP := --no-notices --app "$(PY) app.py"

# A change that broadens IAM permissions needs a person's yes, which the CDK CLI can only ask one stack
# at a time: with nothing broadening (cdk diff --fail-on broadening) stacks deploy CONCURRENCY at a
# time, otherwise one at a time, asking. APPROVED=yes (a pipeline that reviewed `make diff`) skips asking.
deploy: install
	@test -n "$(ENV)" || (echo "usage: make deploy ENV=dev|staging|prod [AUTOMATION=name] [OWNER=team]" >&2; exit 2)
	@stacks=$$($(STACKS)); \
	if [ "$(APPROVED)" = yes ] || $(CDK) diff $(CDK_APP) --fail-on broadening --security-only $$stacks; then \
		$(CDK) deploy $(CDK_APP) --concurrency $(CONCURRENCY) --require-approval never $$stacks; \
	else \
		echo "keel: the changes above broaden security; deploying one stack at a time, asking for each" >&2; \
		$(CDK) deploy $(CDK_APP) --concurrency 1 --require-approval broadening $$stacks; \
	fi

diff: install
	@stacks=$$($(STACKS)); $(CDK) diff $(CDK_APP) $$stacks

bench: $(VENV)/.installed
	@$(PY) -m keel bench

# Not part of `make test`: SOAK_EVENTS events with faults mixed in through one local cloud, then the
# accounting; exits 1 when something is lost, left running, done twice or over a limit. Only a run
# of the full 10,000 writes its figures to BENCHMARKS.md.
SOAK_EVENTS ?= 10000
soak: $(VENV)/.installed
	@$(PY) -m keel.bench.soak --events $(SOAK_EVENTS) $(if $(filter 10000,$(SOAK_EVENTS)),--write)

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache .coverage coverage.xml
