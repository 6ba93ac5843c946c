# The README's first two commands: `make demo` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= test
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test setup venv lint bench clean

$(STAMP): pyproject.toml
	@# The real interpreter, not a pyenv shim: every python the venv starts skips the shim's ~75 ms.
	@real=$$($(PYTHON) -c 'import sys; print(sys.executable)'); \
	  [ -x $(BIN)/python ] || $$real -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP)

## Run the quality-gate example: three local `command` agents vote on a Python project.
demo: venv
	$(BIN)/runner apply examples/quality-gate/pattern.yaml --pool examples/quality-gate/pool.yaml \
	  --output .runner/demo-result.json

## Install system packages, start the services the tests use, then run every test.
test: venv setup
	$(BIN)/python -m pytest

setup:
	bash .ci/setup.sh

lint: venv
	$(BIN)/ruff check runner tests bench

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .runner .pytest_cache
