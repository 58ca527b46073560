# The two commands: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck web node chromium bench wrk fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# What `make run` needs: the package alone.
$(VENV)/.run-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# What `make test` needs: every extra, the linters and the benchmark baselines.
$(VENV)/.dev-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.run-stamp

run: $(VENV)/.run-stamp web
	$(BIN)/cognito-gate serve

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.dev-stamp
	$(BIN)/mypy --strict src

test: $(VENV)/.dev-stamp web chromium lint typecheck
	$(BIN)/python -m pytest

# Debian's chromium for the browser tests; nothing downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The browser half: npm packages (from the lock file) and the esbuild bundles in web/dist.
web/node_modules/.installed: web/package.json web/package-lock.json | node
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: web/node_modules/.installed
	cd web && npm run --silent build

node:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's nodejs and npm (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

# Speed, measured side by side with the baselines; each script prints a table and writes JSON.
bench: $(VENV)/.dev-stamp web/node_modules/.installed wrk
	$(BIN)/python benchmarks/verify.py
	$(BIN)/python benchmarks/client.py
	$(BIN)/python benchmarks/login.py

# Debian's wrk drives the login benchmark's load from its own process.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing Debian's wrk (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

# The deep fuzz: the same fuzz tests as `make test`, with many more generated requests per route.
fuzz: $(VENV)/.dev-stamp
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1500} $(BIN)/python -m pytest tests/fuzz -q

clean:
	rm -rf $(VENV) .cognito-gate .pytest_cache .mypy_cache .ruff_cache
