PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser test test-all test-postgres lint demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (installed when missing)
browser:
	scripts/install-browser

test: $(STAMP) browser
	$(BIN)/ruff check newsvault tests benchmarks scripts
	$(BIN)/ruff format --check newsvault tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow"

# everything, the slow hostile-input corpora too, with ten times the fuzzing examples, then the
# whole suite on PostgreSQL (CI)
test-all: $(STAMP) browser
	$(BIN)/ruff check newsvault tests benchmarks scripts
	$(BIN)/ruff format --check newsvault tests benchmarks scripts
	$(BIN)/mypy
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q
	NEWSVAULT_TEST_DATABASE=postgresql $(BIN)/pytest -q

# the whole suite again with every archive on PostgreSQL (127.0.0.1:5432, user postgres)
test-postgres: $(STAMP) browser
	NEWSVAULT_TEST_DATABASE=postgresql $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check newsvault tests benchmarks scripts
	$(BIN)/ruff format --check newsvault tests benchmarks scripts
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/newsvault demo demo-archive

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/extraction.py
	$(BIN)/python benchmarks/stories.py
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/publish.py

clean:
	rm -rf $(VENV) demo-archive .pytest_cache
