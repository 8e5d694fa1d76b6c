# CareCircle: `make run` starts the product, `make test` runs every test. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format migrate seed bench bench-login bench-messaging bench-push clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/dev.py

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python -m backend migrate

seed: $(STAMP)
	$(BIN)/python -m backend seed

bench: bench-login bench-messaging bench-push

bench-login: $(STAMP)
	$(BIN)/python bench/login_burst.py

# Flags for the messaging benchmark: make bench-messaging BENCH_ARGS="--quick" (see --help).
bench-messaging: $(STAMP)
	$(BIN)/python bench/messaging.py $(BENCH_ARGS)

bench-push: $(STAMP)
	$(BIN)/python bench/push_dispatch.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache tests/artifacts
