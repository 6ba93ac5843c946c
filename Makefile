# The README's first two commands: `make demo` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
BASE := $(VENV)/.base-$(HASH)
FULL := $(VENV)/.test-$(HASH)

.PHONY: demo test test-fast setup venv lint bench clean

# runner and what it needs to run (what `make demo` needs: quick on a fresh machine)
$(BASE): pyproject.toml
	@# The real interpreter, not a pyenv shim: every python the venv starts skips the shim's ~75 ms.
	@real=$$($(PYTHON) -c 'import sys; print(sys.executable)'); \
	  [ -x $(BIN)/python ] || $$real -m venv $(VENV)
	@# -qq: errors only; pip's warnings about the machine's own index settings would bury the demo
	$(BIN)/python -m pip install -qq --disable-pip-version-check -e .
	@rm -f $(VENV)/.base-*; touch $(BASE)

# plus every extra the tests exercise (grpc, etcd, docker, kubernetes, otel, the CLIs' pyte, test tools)
$(FULL): $(BASE)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.test-*; touch $(FULL)

venv: $(FULL)

## Run the quality-gate example: three local `command` agents vote on a Python project.
demo: $(BASE)
	$(BIN)/runner apply examples/quality-gate/pattern.yaml --pool examples/quality-gate/pool.yaml \
	  --output .runner/demo-result.json

## Install system packages, start the services the tests use, then run every test.
test: $(FULL) setup
	$(BIN)/python -m pytest

setup:
	bash .ci/setup.sh

## ruff over everything; mypy (pyproject: strict on spec, plan, execute, journal; checked on the rest)
lint: venv
	$(BIN)/ruff check runner tests bench tools
	$(BIN)/mypy

# The fast lane's temporary files (pytest's tmp_path, runner's and git's) on /dev/shm when it is a
# tmpfs with 2 GB free: on an ext4 mounted with online discard, deleting the files a test made cost
# system CPU (tests/workspace/test_concurrent_worktrees.py: 17-28 s of it, 2 s on tmpfs). Only the
# folders of failed tests are kept (a run's are ~330 MB, and pytest kept the last 3 runs' in RAM).
FAST_TMPDIR := $(shell [ "$$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] \
  && [ "$$(df -Pk /dev/shm | awk 'NR == 2 {print $$4}')" -gt 2000000 ] && echo /dev/shm/runner-tests-$$(id -u))

## Every test that needs no Docker, etcd or agent CLI (no set-up step): the fast lane. Property
## tests try a fifth of their examples here (tests/helpers/lanes.py), and the long end-to-end
## variants marked `slow` wait for `make test` (each names what covers its modules here).
test-fast: venv
	@# runner byte-compiled first: with PYTHONDONTWRITEBYTECODE=1 every `runner` the tests start
	@# would compile its modules again (bench/cold_start.py)
	@$(BIN)/python -m compileall -q runner > /dev/null
	@# 3 workers on 2 cores: the same minutes as 4 (the tests wait on processes they start) and
	@# ~18 CPU-s less (one collection fewer, less contention), in two interleaved pairs of runs
	$(if $(FAST_TMPDIR),mkdir -p -m 700 $(FAST_TMPDIR) && TMPDIR=$(FAST_TMPDIR)) \
	RUNNER_TEST_LANE=fast $(BIN)/python -m pytest -n 3 --dist loadfile -o tmp_path_retention_policy=failed \
	  -m "not docker and not etcd and not cli and not kubernetes_real and not scale and not slow"

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .runner .pytest_cache
