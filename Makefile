# The targets other scripts rely on; setup, run and test each leave .venv/bin/riposte behind.
#
#   make setup   .venv from requirements-dev.lock (hash-checked), then the local projects
#                named in requirements-dev.in, editable; again, it changes nothing
#   make lock    refreshes requirements.lock and requirements-dev.lock from pyproject.toml and
#                the .in files, keeping every other pin (UPGRADE=1: newest of everything)
#   make test    setup, lint, bring up what the tests need (tests/prerequisites.sh: PostgreSQL,
#                Chromium, podman), then every test; on a fresh machine it alone passes
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/python -m pip
DEPS := $(VENV)/.locked
STAMP := $(VENV)/.installed
# The local projects (`-e DIR`) named in requirements-dev.in; the locks never pin them.
LOCAL := $(shell sed -n 's/^-e[[:space:]]*//p' requirements-dev.in)
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --native-tls --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' \
	--no-emit-package riposte --no-emit-package tenant-emulator $(if $(UPGRADE),--upgrade)

.PHONY: setup run test lint lock

setup: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Every third-party package, exactly as locked; pip refuses a file whose hash is not there.
$(DEPS): requirements-dev.lock | $(VENV)/bin/python
	$(PIP) install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $(DEPS)

$(STAMP): $(DEPS) pyproject.toml requirements-dev.in $(wildcard */pyproject.toml)
	$(PIP) install --quiet --no-deps --no-build-isolation $(foreach p,$(LOCAL),-e '$(p)')
	@$(PIP) check >/dev/null || { $(PIP) check >&2; echo "make setup: the lock lacks a dependency named above: run 'make lock'" >&2; exit 1; }
	# Bytecode up front: the workflow sandbox re-imports the workflow modules for every new
	# response, and with PYTHONDONTWRITEBYTECODE set nothing else would ever cache them.
	$(VENV)/bin/python -m compileall -q workflows activities riposte emulator/tenant_emulator worker.py
	touch $(STAMP)

lock: $(DEPS)
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.lock
	$(UV_COMPILE) requirements.in --constraint requirements-dev.lock -o requirements.lock

run: setup
	$(VENV)/bin/riposte dev

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint
	bash tests/prerequisites.sh
	$(VENV)/bin/pytest
