# One entry point for people and CI. `make synth` and `make test` set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup synth lint typecheck test bench bench-idempotency bench-events clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

## Synthesize every reference stack (cdk-nag packs fail it on any finding), then cfn-lint them.
synth: setup
	rm -rf cdk.out
	cdk synth --quiet --strict --no-notices
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
test: lint typecheck
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

clean:
	rm -rf cdk.out build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
