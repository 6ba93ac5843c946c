"""`aggregation.escalate: true` with real per-task `command` agents: a vote asks `agents.min`
agents, and one more each time all those asked returned without agreeing, up to `agents.max`.
Each agent leaves a file when it is asked, so the test sees who was (and was not) started."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runner.api import apply
from runner.context import RunContext
from runner.errors import SpecError
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

# argv: the folder to mark, the answer ("fail": exit 1 without one)
VOTER = ("import json, os, sys; open(os.path.join(sys.argv[1], os.environ['RUNNER_AGENT_ID']"
         " if 'RUNNER_AGENT_ID' in os.environ else str(os.getpid())), 'w').close(); sys.stdin.read(); "
         "sys.exit(1) if sys.argv[2] == 'fail' else print(json.dumps({'result': sys.argv[2], 'confidence': 0.9}))")


def pattern(escalate: bool, extra: str = "") -> str:
    return f"""
name: vote
steps:
  - id: v
    agents: {{capabilities: [v], min: 3, max: 5}}
    task: go
    aggregation: {{type: voting, method: majority, escalate: {str(escalate).lower()}{extra}}}
"""


def run(tmp_path: Path, answers: list[str], escalate: bool = True, exit_code: int = 0) -> tuple[dict, int]:
    asked = tmp_path / "asked"
    asked.mkdir(parents=True)
    agents = "".join(f"""  - id: a{i}
    command: [{sys.executable}, -c, "{VOTER}", "{asked}", "{answer}"]
    capabilities: [v]
""" for i, answer in enumerate(answers))
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    outcome = apply(parse_pattern(pattern(escalate), "p.yaml"),
                    parse_pool(f"kind: pool\nname: p\nagents:\n{agents}", "pool.yaml"), {}, ctx=ctx)
    assert outcome.exit_code == exit_code, outcome.result["error"]
    return outcome.result["steps"][0], len(list(asked.iterdir()))


def asked_agents(step: dict) -> list[str]:
    return sorted({a["agentId"] for a in step["attempts"]})


def test_agreeing_first_agents_are_enough(tmp_path):
    step, started = run(tmp_path, ["yes"] * 5)
    assert step["output"] == "yes"
    assert started == 3 and asked_agents(step) == ["a0", "a1", "a2"]
    assert step["aggregation"]["escalated"] == 0 and "decidedEarly" not in step["aggregation"]


def test_a_disagreement_asks_one_more_until_the_vote_is_decided(tmp_path):
    answers = ["yes", "yes", "no", "yes", "no"]
    step, started = run(tmp_path / "escalated", answers)
    full, _ = run(tmp_path / "full", answers, escalate=False)
    # 2-1 after three: a3 is asked; 3-1 with one agent left is a majority of five whatever it says
    assert started == 4 and asked_agents(step) == ["a0", "a1", "a2", "a3"]
    assert step["aggregation"]["escalated"] == 1
    assert step["output"] == full["output"] == "yes"
    assert step["aggregation"]["votes"] == {"yes": 3, "no": 1}


def test_a_failed_agent_is_replaced(tmp_path):
    step, started = run(tmp_path, ["fail", "yes", "yes", "yes", "yes"])
    assert step["output"] == "yes"
    assert started == 4 and asked_agents(step) == ["a0", "a1", "a2", "a3"]
    assert step["aggregation"]["escalated"] == 1


def test_disagreement_to_the_end_asks_every_agent(tmp_path):
    step, started = run(tmp_path, ["yes", "no", "maybe", "no", "yes"], exit_code=1)
    full, _ = run(tmp_path / "full", ["yes", "no", "maybe", "no", "yes"], escalate=False, exit_code=1)
    assert started == 5 and step["aggregation"]["escalated"] == 2
    assert step["status"] == full["status"] == "failed"  # no majority, as in a full vote
    assert step["aggregation"]["votes"] == full["aggregation"]["votes"]


@pytest.mark.parametrize(("agg", "steps_extra", "message"), [
    ("{type: first, escalate: true}", "",
     "only `voting` and `consensus` compare answers to escalate on, not `first`"),
    ("{type: voting, escalate: true}", "\n    strategy: race",
     "needs `strategy: parallel`, not `race`"),
    ("{type: voting, escalate: true}", "", "adds agents up to `agents.max`: give a `max` above `min`"),
])
def test_escalate_where_it_cannot_work_is_refused(agg, steps_extra, message):
    agents = "{capabilities: [v], min: 3}" if "max" in message else "{capabilities: [v], min: 3, max: 5}"
    text = f"name: x\nsteps:\n  - id: v\n    agents: {agents}\n    task: go\n    aggregation: {agg}{steps_extra}\n"
    with pytest.raises(SpecError) as err:
        parse_pattern(text, "p.yaml")
    assert [d.render() for d in err.value.diagnostics] == [f"p.yaml:6:{text.splitlines()[5].index('escalate') + 11}: "
                                                           f"$.steps[0].aggregation.escalate: {message}"]
