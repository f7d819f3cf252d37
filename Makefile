# One entry point for people and CI. `make synth` and `make test` set everything up first.
PYTHON ?= python3
# Resolved before PATH puts the venv first: the interpreter that creates the venv and installs uv.
HOST_PYTHON := $(shell command -v $(PYTHON) || echo $(PYTHON))
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup lock lock-check synth synth-compliance lint typecheck test bench bench-idempotency bench-events mutation clean

## Set-up. requirements-dev.txt locks every development dependency (the `dev` extra and the
## library's own, for Python 3.11+ on every platform); pyproject.toml keeps the library's ranges
## loose. uv installs the locked versions: `make synth` only the package and cfn-lint,
## `make setup` (and so test, lint, typecheck, bench) the whole dev extra. Each stamp below
## depends on the lock, so a changed lock reinstalls.
LOCK := requirements-dev.txt

# The venv, without pip (ensurepip alone takes longer than uv's whole install), and uv at the
# lock's version, installed into it by the interpreter's own pip (no global install). If that
# fails, the venv gets pip and tries again; without uv, pip does the installs, and says so.
UV_REQUIREMENT = "$$(grep -E '^uv==' $(LOCK) || echo uv)"
$(VENV)/.installer: $(LOCK)
	[ -x $(BIN)/python ] || $(HOST_PYTHON) -m venv --without-pip $(VENV)
	$(HOST_PYTHON) -m pip --python $(BIN)/python install --quiet $(UV_REQUIREMENT) \
	  || { $(BIN)/python -m ensurepip --default-pip \
	       && $(BIN)/python -m pip install --quiet $(UV_REQUIREMENT); } \
	  || echo "make: uv could not be installed into $(VENV): installing with pip (slower)"
	touch $@

# $(call install,ARGS): install ARGS at the lock's versions, with uv if the venv has it. uv does not
# precompile bytecode (pip compiled all 8,000 modules, 176 MB of them aws-cdk-lib's); Python
# compiles the ~600 a synth imports when it first imports them.
# aws-cdk-lib and its dependency aws-cdk.cloud-assembly-schema both ship
# aws_cdk/cloud_assembly_schema/__init__.py; whichever is installed last wins. pip installs
# aws-cdk-lib last; uv installs in parallel, and the standalone file breaks aws-cdk-lib
# ("Unknown interface: aws-cdk-lib.cloud_assembly_schema.MetadataEntry" from
# assertions.Annotations). So aws-cdk-lib is installed again, alone, last.
install = if [ -x $(BIN)/uv ]; then \
	  echo "make: installing with uv $$($(BIN)/uv --version | cut -d' ' -f2) from $(LOCK)"; \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --constraint $(LOCK) $(1) \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python --constraint $(LOCK) \
	    --reinstall-package aws-cdk-lib --no-deps aws-cdk-lib; \
	else echo "make: installing with pip from $(LOCK)"; \
	  $(BIN)/python -m pip install --quiet --constraint $(LOCK) $(1); fi

$(VENV)/.installed-synth: $(VENV)/.installer pyproject.toml $(LOCK)
	$(call install,-e . cfn-lint)
	touch $@

$(VENV)/.installed: $(VENV)/.installer pyproject.toml $(LOCK)
	$(call install,-e '.[dev]')
	touch $@ $(VENV)/.installed-synth

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

## Refresh the lock after changing dependencies in pyproject.toml: versions already pinned stay
## when they still fit, new ones are resolved. `make lock UPGRADE=1` moves everything to the newest.
LOCK_COMPILE = $(BIN)/uv pip compile pyproject.toml --extra dev --extra mutation --universal \
	--python-version 3.11 \
	--quiet --custom-compile-command "make lock"
lock: $(VENV)/.installer
	$(LOCK_COMPILE) $(if $(UPGRADE),--upgrade) -o $(LOCK)

## Fails if pyproject.toml's dependencies changed without `make lock` (compiles a copy, diffs).
lock-check: $(VENV)/.installer
	mkdir -p build && cp $(LOCK) build/lock-check.txt
	$(LOCK_COMPILE) -o build/lock-check.txt
	diff -u $(LOCK) build/lock-check.txt || { echo "make: $(LOCK) is stale: run make lock"; exit 1; }

## Synthesize every reference stack (cdk-nag packs fail it on any finding), then cfn-lint them.
synth: $(VENV)/.installed-synth node_modules/.installed
	rm -rf cdk.out
	cdk synth --quiet --strict --no-notices
	cfn-lint cdk.out/*.template.json

## The hardened reference app (a customer-managed key per stack, a web ACL on each API) under all
## six cdk-nag packs (AwsSolutions, Serverless, ServerlessPatterns, NIST 800-53 R5, HIPAA, PCI DSS),
## then cfn-lint. `make test` runs the same check (tests/nag).
synth-compliance: $(VENV)/.installed-synth node_modules/.installed
	rm -rf cdk.out
	cdk synth --quiet --strict --no-notices -c hardened=true
	cfn-lint cdk.out/*.template.json

lint: setup
	ruff check .
	ruff format --check .

## mypy sees the installed layout: src/ and runtime/ linked as build/typecheck/serverless_patterns.
typecheck: setup
	rm -rf build/typecheck && mkdir -p build/typecheck/serverless_patterns
	for entry in src/*; do ln -s ../../../$$entry build/typecheck/serverless_patterns/; done
	ln -s ../../../runtime build/typecheck/serverless_patterns/runtime
	mypy

## Lint, type check, then the whole test suite (unit, snapshot, nag, runtime, integration, packaging).
test: lock-check lint typecheck
	pytest -n auto

bench: setup
	python benchmarks/run_all.py

## Our idempotency against Powertools' on a moto server (direct and behind a 5 ms proxy): round
## trips on the critical path, requests and capacity units, client CPU, a worker killed mid-batch.
## Prints PASS/MISS per target of issue 11 and writes benchmarks/out/idempotency.json.
bench-idempotency: setup
	python benchmarks/idempotency_benchmark.py
	python benchmarks/idempotency_floor.py

## Our EventPublisher against one PutEvents call per event, on moto, direct and behind a 5 ms proxy.
bench-events: setup
	python benchmarks/publisher_benchmark.py

## Mutation testing of the runtime (cosmic-ray): each module of tools/mutation/config.toml against
## its own tests, on a copy of the package in build/mutation; prints a score per module and writes
## build/mutation/report.md. Not part of `make test`.
$(VENV)/.installed-mutation: $(VENV)/.installed
	$(call install,-e '.[dev,mutation]')
	touch $@

mutation: $(VENV)/.installed-mutation node_modules/.installed
	python tools/mutation/run.py

clean:
	rm -rf cdk.out build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
