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

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

protos: $(STAMP) ## Regenerate the gRPC code under tokenyard/
	$(BIN)/python -m services.common.protogen

check-protos: $(STAMP) ## Fail when the generated code is stale
	$(BIN)/python -m services.common.protogen --check

run: $(STAMP) ## Start Redis, router, meter and edge on http://127.0.0.1:8080/v1 (Ctrl-C stops all)
	$(BIN)/python -m services.launcher

test: $(STAMP) check-protos ## Run the whole suite (unit, integration, end-to-end)
	$(BIN)/python -m pytest tests

test-unit: $(STAMP) ## Unit tests only
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP) ## Byte-compile everything (catches syntax errors fast)
	$(BIN)/python -m compileall -q services tests

clean: ## Remove the venv and local data
	rm -rf $(VENV) .data

.PHONY: help install protos check-protos run test test-unit lint clean
