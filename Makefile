# Every target installs what it needs on first use: a fresh clone needs only
# Python >= 3.11, Node >= 20, npm, make and git.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The pinned Node 22 and CDK CLI from package.json come first on PATH, so `cdk`,
# the app it spawns and the jsii runtime inside the tests all run on them.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help install synth test lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## create .venv and node_modules (done by every target)

synth: install ## synthesize every environment's stacks into cdk.out/
	cdk synth --quiet

test: install ## run the unit tests (no AWS, no network)
	$(PY) -m pytest

lint: install ## ruff: lint and formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean: ## remove build output, reports and caches (keeps .venv and node_modules)
	rm -rf cdk.out reports .pytest_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
