# Two commands: `make run` (set up + the demo on the embedded server) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean setup screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/jobmodule dev --demo --jobs app.jobs,examples.import_csv --queue default,imports

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# client/ installs as `jobmodule` (pyproject.toml's package-dir), so mypy reads a tree of links
# that has the installed names: build/typecheck/jobmodule/ -> client/*, activities/, workflows/.
typecheck: $(STAMP)
	rm -rf build/typecheck && mkdir -p build/typecheck/jobmodule
	for entry in client/* activities workflows; do ln -s "$(CURDIR)/$$entry" build/typecheck/jobmodule/; done
	$(BIN)/mypy build/typecheck/jobmodule app examples worker.py

pytest: $(STAMP)
	$(BIN)/pytest -q --durations=15

test: lint typecheck pytest

# One PNG per dashboard page, from a seeded dev server, into tests/dashboard/screenshots/.
screenshots: $(STAMP)
	$(BIN)/python -m tests.dashboard.screenshots

bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) .jobmodule .mypy_cache .ruff_cache .pytest_cache build
