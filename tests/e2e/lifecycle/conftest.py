"""Fixtures for lifecycle tests: a run context in a temp dir, and no process of it left after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from local_helpers import run_processes

from runner.context import RunContext


@pytest.fixture
def ctx(tmp_path: Path):
    c = RunContext(workdir=tmp_path, state_dir=tmp_path / ".runner", environ=dict(os.environ))
    yield c
    assert run_processes(c.run_id) == [], "processes of the run are left"
