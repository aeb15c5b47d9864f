# The two commands a new user needs: `make demo` and `make test`.
# Both create .venv with the Python on PATH (3.11 or newer) and install into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: demo test lint layers types pytest docs golden bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "flowmap needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,peer,dask,db,fast]'
	touch $@

demo: $(VENV)/.installed
	@$(BIN)/python examples/demo.py $(DEMO_OUT)

test: $(VENV)/.dev-installed lint layers types pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

# The layer contracts in pyproject.toml: a lower layer importing a higher one fails.
layers: $(VENV)/.dev-installed
	$(BIN)/lint-imports

types: $(VENV)/.dev-installed
	$(BIN)/mypy

# bpmn.io's viewer, for the test that opens flowmap's BPMN in it: from the npm registry, test-only.
BPMN_JS := .cache/npm/node_modules/bpmn-js/dist/bpmn-viewer.production.min.js
$(BPMN_JS):
	@command -v npm >/dev/null 2>&1 && npm install --silent --no-audit --no-fund --prefix .cache/npm bpmn-js@18 \
		|| echo "npm is not installed: the BPMN viewer test will be skipped (loudly)"

pytest: $(VENV)/.dev-installed $(BPMN_JS)
	$(BIN)/python -m pytest -q

# Regenerate docs/cli.md from --help (tests fail when it is stale).
docs: $(VENV)/.dev-installed
	$(BIN)/cog -r docs/cli.md
	$(BIN)/flowmap schema > docs/schema/process-1.json
	$(BIN)/flowmap schema --change > docs/schema/change-1.json
	$(BIN)/python docs/make_pictures.py

# Regenerate golden files after a deliberate change to an output format.
golden: $(VENV)/.dev-installed
	FLOWMAP_REGEN_GOLDEN=1 $(BIN)/python -m pytest -q tests -k golden

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
