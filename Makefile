# Two entry points: `make run` (quickstart on SQLite with the example config repo) and `make test`.
# `make vllm` builds the cached vLLM venv and test model the LLM tests use (outside the checkout).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup run test lint vllm clean

$(BIN)/mcpctl: pyproject.toml package.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres,examples]'
	@if command -v npm >/dev/null 2>&1; then npm install --no-audit --no-fund --silent; \
	 else echo "npm not found: npm-based example servers and Inspector tests will be skipped"; fi
	touch $(BIN)/mcpctl

setup: $(BIN)/mcpctl

# The example's two HTTP upstreams (SSE on 3001, Streamable HTTP on 3002) are the npm reference server,
# started here in the background and stopped when the gateway exits. It has no auth and no setting for
# its address, so examples/node-loopback.cjs makes it listen on 127.0.0.1 only.
UPSTREAM_ENV := NODE_OPTIONS=--require=$(CURDIR)/examples/node-loopback.cjs

run: setup
	$(BIN)/mcpctl apply -f examples/config-repo --yes --token-output .tokens
	@trap 'kill 0' EXIT INT TERM; \
	 if [ -x node_modules/.bin/mcp-server-everything ]; then \
	   $(UPSTREAM_ENV) PORT=3001 node_modules/.bin/mcp-server-everything sse >/dev/null 2>&1 & \
	   $(UPSTREAM_ENV) PORT=3002 node_modules/.bin/mcp-server-everything streamableHttp >/dev/null 2>&1 & \
	 fi; \
	 MCPCTL_SECRETS_DIR=examples/secrets MCPCTL_TEAM=platform \
	   $(BIN)/mcpctl serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q

# The venv and model live in $MCPCTL_VLLM_HOME (default ~/.cache/mcpctl-vllm); a second run reuses them.
vllm:
	scripts/setup-vllm.sh

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules
