# Three targets other scripts rely on; each leaves .venv/bin/riposte behind.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup run test lint

setup: $(STAMP)

$(STAMP): pyproject.toml emulator/pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	# The tenant emulator (a test and demo double, never in the production image).
	$(VENV)/bin/pip install --quiet --no-deps -e ./emulator
	# Bytecode up front: the workflow sandbox re-imports the workflow modules for every new
	# response, and with PYTHONDONTWRITEBYTECODE set nothing else would ever cache them.
	$(VENV)/bin/python -m compileall -q workflows activities riposte emulator/tenant_emulator worker.py
	touch $(STAMP)

run: setup
	$(VENV)/bin/riposte dev

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup lint
	$(VENV)/bin/pytest
