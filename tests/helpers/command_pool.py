"""Runs on real per-task command agents (tests/helpers/programs): a pool of an `echo` agent
(answers ``echo: <task>``) and a `crash` agent, and a run of a pattern on it with its journal.

    outcome, events = run_on_pool(tmp_path, parse_pattern(text, "p.yaml"))
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from runner.api import Outcome, apply
from runner.context import RunContext
from runner.journal import read_events
from runner.spec.models import Pattern
from runner.spec.pool import parse_pool

PROGRAMS = Path(__file__).resolve().parent / "programs"
POOL = f"""kind: pool
name: p
agents:
  - id: echo
    command: [{sys.executable}, {PROGRAMS / "answer_json.py"}]
    capabilities: [echo]
  - id: crash
    command: [{sys.executable}, {PROGRAMS / "crash.py"}]
    capabilities: [crash]
"""


def run_on_pool(tmp_path: Path, pattern: Pattern, pool: str = POOL,
                inputs: dict[str, Any] | None = None) -> tuple[Outcome, list[dict[str, Any]]]:
    """Apply ``pattern`` on ``pool`` (YAML text) in ``tmp_path``: the outcome and the run's journal events."""
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    outcome = apply(pattern, parse_pool(pool, "pool.yaml"), inputs or {}, ctx=ctx)
    return outcome, list(read_events(Path(outcome.run_dir)))
