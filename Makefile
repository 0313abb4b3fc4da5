# Anbefal: `make run` starts the whole system locally, `make test` runs the whole suite.
# Both install what is missing first (uv, the Python environment, Kafka's jars, PostgreSQL).

SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv from PATH, else the one pip installs as a module.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help setup prepare run test check lint fmt typecheck unit bench clean chaos

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install uv if missing and sync the Python environment from uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv from PyPI ..."; python3 -m pip install --quiet uv; }
	$(UV) sync --frozen

prepare: setup ## fetch Kafka's jars, install and initialise PostgreSQL (idempotent)
	$(UV) run python -m anbefal.devstack prepare

run: prepare ## start Kafka, PostgreSQL, the mail sink and the four services (Ctrl-C stops)
	$(UV) run anbefal dev env
	$(UV) run honcho -e .local/anbefal.env -f deploy/local/Procfile -d . start

check: lint typecheck ## static checks

lint: setup ## ruff lint and format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

fmt: setup ## format the code
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

typecheck: setup ## mypy --strict
	$(UV) run mypy libs/common/src libs/devstack/src libs/cli/src services/*/src bench

test: setup check ## the whole suite against a real Kafka and PostgreSQL it starts itself
	$(UV) run python -m anbefal.devstack prepare --test-tools
	$(UV) run pytest $(PYTEST_ARGS)

unit: setup ## only the tests that need no broker or database
	$(UV) run pytest -m "not integration and not e2e and not fault" $(PYTEST_ARGS)

bench: prepare ## benchmarks (print figures and ratios against raw baselines)
	@for b in bench/*.py; do echo "== $$b"; $(UV) run python $$b || exit 1; done

chaos: prepare ## the fault-injection suite at full scale (a test may take up to an hour), then the table (fault, sent, ..., lost)
	$(UV) run python -m anbefal.devstack.chaos reset
	ANBEFAL_CHAOS_SCALE=full $(UV) run pytest tests/faults -m fault --timeout 3600 $(PYTEST_ARGS); status=$$?; \
		$(UV) run python -m anbefal.devstack.chaos table && exit $$status

clean: ## remove local state (Kafka and PostgreSQL data, caches); keeps the jar cache
	rm -rf .local/run .local/test .pytest_cache .mypy_cache .ruff_cache
