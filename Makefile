# Two entry points: `make run` (quickstart on SQLite with the example config repo) and `make test`.
# `make vllm` builds the cached vLLM venv and test model the LLM tests use (outside the checkout).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup run test lint vllm compose clean

# `run` needs mcpctl and the example servers; `test` and `lint` add the dev tools. Each stamp says
# what it installs, so a first `make run` is not two silent minutes.
$(VENV)/.run-installed: pyproject.toml package.json
	@echo "==> creating $(VENV) and installing mcpctl with the example servers (first time: a minute or two)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[postgres,examples]'
	@if command -v npm >/dev/null 2>&1; then echo "==> npm install (the example's HTTP servers, MCP Inspector)"; \
	   npm install --no-audit --no-fund --silent; \
	 else echo "npm not found: npm-based example servers and Inspector tests will be skipped"; fi
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed
	@echo "==> installing the dev tools (pytest, ruff, mypy)"
	$(BIN)/pip install --quiet -e '.[dev,postgres,examples]'
	touch $@

setup: $(VENV)/.dev-installed

# The example's two HTTP upstreams (SSE on 3001, Streamable HTTP on 3002) are the npm reference server.
# scripts/run_example.py runs them and the gateway as one unit: Ctrl-C, a kill of make or of the
# script, or any of them exiting stops all three.
run: $(VENV)/.run-installed
	@echo "==> applying examples/config-repo to the store (token values go to .tokens/)"
	$(BIN)/mcpctl apply -f examples/config-repo --yes --token-output .tokens
	@echo "==> serving on http://$(HOST):$(PORT) (Ctrl-C stops the gateway and the example servers)"
	MCPCTL_SECRETS_DIR=examples/secrets MCPCTL_TEAM=platform \
	  $(BIN)/python scripts/run_example.py --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q

# The venv and model live in $MCPCTL_VLLM_HOME (default ~/.cache/mcpctl-vllm); a second run reuses them.
vllm:
	scripts/setup-vllm.sh

compose:
	scripts/setup-compose.sh

# mypy twice: src strictly (pyproject), then the tests relaxed (tests/mypy.toml).
lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy --config-file tests/mypy.toml

clean:
	rm -rf $(VENV) node_modules
