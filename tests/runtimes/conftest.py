"""Fixtures for the local runtime: a run context, a runtime that is always cleaned up, and a
check that no process of the run is left afterwards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# importlib import mode puts no test folder on sys.path: the helpers next to the tests need it
sys.path.insert(0, str(Path(__file__).parent))
from local_helpers import run_processes  # noqa: E402

from runner.context import RunContext
from runner.runtimes.local import LocalRuntime


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    environ = dict(os.environ)
    environ["RUNNER_TEST_SECRET"] = "s3cret-value"
    return RunContext(workdir=tmp_path, state_dir=tmp_path / ".runner", environ=environ)


@pytest.fixture
def events(ctx: RunContext) -> list:
    seen: list = []
    ctx.bus.subscribe(seen.append)
    return seen


@pytest.fixture
def runtime(ctx: RunContext):
    rt = LocalRuntime(ctx, {"grace": 1.0, "start_timeout": 10.0, "login_idle": 0.3})
    yield rt
    left = rt.cleanup()
    assert left == []
    assert run_processes(ctx.run_id) == [], "processes of the run are left"
