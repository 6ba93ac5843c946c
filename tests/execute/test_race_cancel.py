"""A race with real per-task agents: once the first answer is in, the loser's program is killed
during the step (not left running until cleanup) and its attempt says it lost the race."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runner.api import apply
from runner.context import RunContext
from runner.journal import read_events
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

PROGRAMS = Path(__file__).resolve().parents[1] / "helpers" / "programs"
PATTERN = """
name: race
steps:
  - id: r
    agents: {capabilities: [r], min: 2}
    task: go
    strategy: race
    aggregation: first
  - id: after
    agents: {capabilities: [r], prefer: [fast]}
    task: "again {{ steps.r.output }}"
"""
POOL = f"""kind: pool
name: p
agents:
  - id: fast
    command: [{sys.executable}, {PROGRAMS / "answer_json.py"}]
    capabilities: [r]
  - id: slow
    command: [{sys.executable}, {PROGRAMS / "hang.py"}]
    capabilities: [r]
"""


def test_race_loser_is_cancelled_during_the_step(tmp_path):
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    outcome = apply(parse_pattern(PATTERN, "p.yaml"), parse_pool(POOL, "pool.yaml"), {}, ctx=ctx)
    assert outcome.exit_code == 0, outcome.result["error"]
    race = outcome.result["steps"][0]
    assert race["output"] == "echo: go"
    (lost,) = [a for a in race["attempts"] if a["agentId"] == "slow"]
    assert (lost["status"], lost["errorKind"]) == ("cancelled", "cancelled")
    assert lost["error"] == "slow: lost the race: fast answered first"
    # Cancelled within the step: its attempt ended before the step did (cleanup comes last).
    events = list(read_events(Path(outcome.run_dir)))
    order = [(e["event"], e.get("step"), e.get("agent")) for e in events]
    assert order.index(("attempt_finished", "r", "slow")) < order.index(("step_finished", "r", None))
