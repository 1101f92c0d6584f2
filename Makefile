# chronobridge — `make demo` and `make test` are the whole quick start.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck bytecode unit bench catalog system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/chronobridge demo

system-deps:
	@tools/system-deps.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests tools bench examples
	$(BIN)/ruff format --check src tests tools bench examples
	$(BIN)/lint-imports
	$(BIN)/python tools/gen_catalog.py --check

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# The tests start the CLI, serve and workers as processes hundreds of times: compiled bytecode
# saves each start ~0.4 s where PYTHONDONTWRITEBYTECODE is set (Python then reads .pyc files
# but never writes them, so an editable install recompiles its sources on every start).
bytecode: $(TEST_STAMP)
	$(BIN)/python -m compileall -q src tests >/dev/null

test: $(TEST_STAMP) system-deps lint typecheck bytecode
	$(BIN)/python -m pytest -n 2 --dist load $(PYTEST_ARGS)

unit: $(TEST_STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

catalog: $(TEST_STAMP)
	$(BIN)/python tools/gen_catalog.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
