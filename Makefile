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

# Each stamp is named after what it installed (a digest of the pinned files), not dated:
# a build restores a cached environment into a new source directory whose files carry
# the artifact's times, so a dated stamp would look stale and reinstall on every build.
digest = $(shell cat $(1) | sha256sum | cut -c1-16)
PY_STAMP := $(VENV)/.installed-$(call digest,requirements.txt requirements-dev.txt)
NODE_STAMP := node_modules/.installed-$(call digest,package.json package-lock.json)
# checkov lives in its own environment: it pins old boto3/botocore and packaging.
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed-$(call digest,requirements-audit.txt)

# What the cloud assembly is made from: cdk.out/ is stale when any of it is newer.
APP_SOURCES := pipeline_app.py cdk.json requirements.txt $(shell find project pipeline stages stacks lambda_src -name '*.py' 2>/dev/null)
# `make audit ASSEMBLY=dir` audits another cloud assembly (a modified copy, say) as is.
ASSEMBLY ?= cdk.out

.PHONY: help install local synth audit test bench bootstrap-commands lint typecheck hooks clean up down remote approve reject runs enable-transition disable-transition

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s  %s\n", $$1, $$2}'

# A cached environment is a symbolic link to the build's cache (CodeBuild's local custom
# cache), which `python -m venv` refuses: it is made, and pip writes its scripts' first
# lines, where the link points, a path that stays when the next build links it elsewhere.
$(PY_STAMP):
	$(PYTHON) -m venv "$$(readlink -f $(VENV))"
	"$$(readlink -f $(VENV))/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP):
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(AUDIT_STAMP):
	$(PYTHON) -m venv "$$(readlink -f $(AUDIT_VENV))"
	"$$(readlink -f $(AUDIT_VENV))/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) $(AUDIT_STAMP) ## create .venv and node_modules (done by every target)

local: install ## THE MAIN COMMAND: synth, audit, deploy into emulated accounts, integration test (APPROVE=1, KEEP_UP=1)
	$(PY) -m local_pipeline

synth: install ## synthesize every environment's stacks into cdk.out/ (cdk-nag runs here)
	cdk synth --quiet

cdk.out/manifest.json: $(APP_SOURCES) | install
	cdk synth --quiet

audit: install $(if $(filter cdk.out,$(ASSEMBLY)),cdk.out/manifest.json) ## checkov over the assembly; reports in reports/checkov/
	$(PY) -m pipeline.audit --assembly $(ASSEMBLY) --reports reports/checkov

test: install ## every test: unit, policy checks, the audit gate, the emulator, the local run, integration on emulated accounts (no AWS, no network)
	$(PY) -m pytest -n auto --dist loadfile

bench: install ## time make test and make local cold and warm, consumer executions (25 and 150 at once) and pushes, against a bare synth (BENCH_REPEAT=3; 30-40 min)
	$(PY) -m local_pipeline.bench

up: install ## start the emulated accounts in the background (PORT=5123); their state lasts until `make down`
	@$(PY) -m local_pipeline.gitops up

down: install ## stop the emulated accounts (their state is gone)
	@$(PY) -m local_pipeline.gitops down

remote: install ## add the git remote `local` and deploy the pipeline once: `git push local HEAD:<branch>` runs it
	@$(PY) -m local_pipeline.gitops remote

approve: install ## approve the approval a run waits at (RUN=<id> when several wait), and follow the run
	@$(PY) -m local_pipeline.gitops approve

reject: install ## reject the approval a run waits at (RUN=<id> when several wait): the run fails
	@$(PY) -m local_pipeline.gitops reject

enable-transition: install ## let runs into a stage again (STAGE=<name>), as EnableStageTransition
	@$(PY) -m local_pipeline.gitops enable-transition

disable-transition: install ## hold runs before a stage (STAGE=<name>), as DisableStageTransition
	@$(PY) -m local_pipeline.gitops disable-transition

runs: install ## list the pipeline's runs
	@$(PY) -m local_pipeline.gitops runs

bootstrap-commands: install ## print (not run) the least-privilege bootstrap, first deploy and cleanup commands
	@$(PY) -m pipeline.bootstrap

lint: install ## ruff (lint and formatting), the one-way layers (import-linter), mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory typecheck

typecheck: install ## mypy --strict over the product, and over the policy checks in checkov's environment
	$(MYPY_PRODUCT)
	$(MYPY_AUDIT)

# The product, strict (pyproject.toml). Then what runs in checkov's environment, against
# it: the policy checks import each other by bare name, as checkov loads them.
MYPY_PRODUCT = $(PY) -m mypy
MYPY_AUDIT = MYPYPATH=policy_checks $(PY) -m mypy --explicit-package-bases --python-executable $(AUDIT_VENV)/bin/python \
	$(filter-out policy_checks/__init__.py,$(wildcard policy_checks/*.py)) pipeline/checkov_waiting.py

hooks: install ## install the git pre-commit hooks (.pre-commit-config.yaml): ruff, mypy, hygiene
	$(VENV)/bin/pre-commit install

clean: ## remove build output, reports and caches (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out.lock reports .pytest_cache .audit-cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
