# IBKR Desk. Two commands on a fresh machine with Python, make and apt:
#   make run    creates .venv, installs, starts the dashboard against the simulated gateway
#   make test   installs what the tests need (Debian's chromium included) and runs the whole suite
PYTHON ?= python3
VENV   := .venv
PORT   ?= 8501
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run serve test lint bench soak load chromium clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The project itself is installed (editable, with its dashboard and sim extras): no sys.path tricks anywhere.
# Installed with the versions of requirements.lock (those the tests passed with); `make lock` upgrades them.
$(VENV)/.run-deps: pyproject.toml requirements.txt requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -r requirements.txt
	touch $@

$(VENV)/.dev-deps: pyproject.toml requirements.txt requirements-dev.txt requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/python -m ibkr_desk --server.port $(PORT)

# The hosted case (SECURITY.md): every interface, on PORT, answering to ALLOWED_HOSTS (the names people type,
# comma-separated, e.g. make serve ALLOWED_HOSTS=desk.example.com). It refuses to start unless sign-in is configured
# in .streamlit/secrets.toml; put TLS in front of it (a reverse proxy).
ADDRESS       ?= 0.0.0.0
ALLOWED_HOSTS ?= localhost,127.0.0.1,::1
serve: $(VENV)/.run-deps
	IBKR_ALLOWED_HOSTS="$(ALLOWED_HOSTS)" $(BIN)/python -m ibkr_desk --server.address $(ADDRESS) --server.port $(PORT)

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi

test: $(VENV)/.dev-deps chromium
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark into BENCHMARKS.md (about an hour); BENCH="positions analytics" runs only those (bench/__main__.py).
BENCH ?=
bench: $(VENV)/.dev-deps chromium
	$(BIN)/python -m bench $(BENCH)

# A scripted trading day in Chromium at 3 x 5,000 positions (SOAK_MINUTES, default 10); figures into BENCHMARKS.md.
SOAK_MINUTES ?= 10
soak: $(VENV)/.dev-deps chromium
	$(BIN)/python -m tests.e2e.trading_day --minutes $(SOAK_MINUTES)

# LOAD_SESSIONS dashboard sessions in Chromium (default 20) for LOAD_MINUTES (default 5) after a one-session baseline,
# at the fastest refresh, over every page; fails on a page error, a 429, more gateway calls than one session's or
# memory that grows; figures into BENCHMARKS.md (bench/load.py).
LOAD_SESSIONS ?= 20
LOAD_MINUTES  ?= 5
load: $(VENV)/.dev-deps chromium
	$(BIN)/python -m bench.load --sessions $(LOAD_SESSIONS) --minutes $(LOAD_MINUTES)

# Upgrade the pinned versions: the newest the ranges allow, in a throwaway venv, frozen into requirements.lock.
LOCK_VENV := $(shell mktemp -u /tmp/ibkr-desk-lock.XXXXXX)
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet -r requirements-dev.txt
	{ head -2 requirements.lock; $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v '^ibkr-desk'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
