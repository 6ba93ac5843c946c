"""Early-decided votes with real per-task agents: five voters, three fast ones agree, two are
slow. The step ends once three agree, the slow ones' programs are killed and recorded as
`cancelled: decided early`, and the output is the one a full vote (`complete: true`) gives."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

# Writes its pid, sleeps, then answers "echo: <task>".
SLOW = ("import json, os, sys, time; open(sys.argv[1] + '/' + str(os.getpid()), 'w').close(); "
        "t = sys.stdin.read().strip(); time.sleep(float(sys.argv[2])); "
        "print(json.dumps({'result': 'echo: ' + t, 'confidence': 0.9}))")


# Answers "echo: <task>" once both slow voters' programs run (so the vote is decided
# while they are working, however slowly a loaded machine starts them).
FAST = ("import json, os, sys, time; d = sys.argv[1]; t = sys.stdin.read().strip(); end = time.time() + 60; "
        "exec('while len(os.listdir(d)) < 2 and time.time() < end: time.sleep(0.05)'); "
        "print(json.dumps({'result': 'echo: ' + t, 'confidence': 0.9}))")


def pattern(complete: bool) -> str:
    return f"""
name: vote
steps:
  - id: v
    agents: {{capabilities: [v], min: 3, max: 5}}
    task: go
    aggregation: {{type: voting, method: majority, complete: {str(complete).lower()}}}
"""


def pool(pids: Path, slow_s: float) -> str:
    fast = "\n".join(f"""  - id: fast{i}
    command: [{sys.executable}, -c, "{FAST}", {pids}]
    capabilities: [v]""" for i in range(3))
    slow = "\n".join(f"""  - id: slow{i}
    command: [{sys.executable}, -c, "{SLOW}", {pids}, "{slow_s}"]
    capabilities: [v]""" for i in range(2))
    return f"kind: pool\nname: p\nagents:\n{fast}\n{slow}\n"


def run(tmp_path: Path, complete: bool, slow_s: float) -> tuple[dict, list[int]]:
    pids = tmp_path / "pids"
    pids.mkdir(parents=True)
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    outcome = apply(parse_pattern(pattern(complete), "p.yaml"), parse_pool(pool(pids, slow_s), "pool.yaml"), {},
                    ctx=ctx)
    assert outcome.exit_code == 0, outcome.result["error"]
    return outcome.result["steps"][0], [int(p.name) for p in pids.iterdir()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_decided_vote_cancels_the_slow_voters_and_outputs_what_a_full_vote_does(tmp_path):
    early, pids = run(tmp_path / "early", complete=False, slow_s=60)
    full, _ = run(tmp_path / "full", complete=True, slow_s=1)
    assert early["output"] == full["output"] == "echo: go"
    assert early["aggregation"]["decidedEarly"] is True and "decidedEarly" not in full["aggregation"]
    by_agent = {a["agentId"]: a for a in early["attempts"]}
    for slow in ("slow0", "slow1"):
        assert (by_agent[slow]["status"], by_agent[slow]["errorKind"]) == ("cancelled", "cancelled")
        assert by_agent[slow]["error"] == f"{slow}: decided early"
    assert [by_agent[f"fast{i}"]["status"] for i in range(3)] == ["ok"] * 3
    # Both slow programs were running when the vote was decided: both were killed.
    assert len(pids) == 2 and not any(alive(p) for p in pids)
    # The full vote heard all five.
    assert sorted(a["status"] for a in full["attempts"]) == ["ok"] * 5
    assert sum(full["aggregation"]["votes"].values()) == 5
