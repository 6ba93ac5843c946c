"""Step semantics with real per-task command agents: `when` before agents start, forEach items
at once, reacting to a failure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from command_pool import POOL, run_on_pool

from runner.spec.pattern import parse_pattern

pytestmark = pytest.mark.pty


def apply_text(tmp_path: Path, pattern: str, pool: str = POOL, inputs=None):
    return run_on_pool(tmp_path, parse_pattern(pattern, "p.yaml"), pool, inputs)


def test_a_step_whose_when_is_false_starts_no_agent(tmp_path):
    outcome, events = apply_text(tmp_path, """
name: skip
steps:
  - id: never
    agents: {capabilities: [echo]}
    when: "1 > 2"
    task: go
""")
    assert outcome.exit_code == 0, outcome.result["error"]
    assert outcome.result["steps"][0]["status"] == "skipped"
    (cleanup,) = [e for e in events if e["event"] == "cleanup_started"]
    assert cleanup["agents"] == []
    assert not [e for e in events if e["event"] in ("agent_event", "attempt_started")]


# Each task marks itself started, then waits (up to 20 s) until every item's task has started:
# run one at a time, no task ever sees the others, and the attempts cannot overlap.
GATHER = """
import os, sys, time
d = sys.argv[1]
sys.stdin.read()
open(os.path.join(d, str(os.getpid())), "w").close()
deadline = time.monotonic() + 20
while len(os.listdir(d)) < int(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.02)
print("seen", len(os.listdir(d)))
"""


def test_for_each_items_run_at_once(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "gather.py").write_text(GATHER)
    n = 12
    pool = f"""kind: pool
name: p
agents:
  - id: gather
    command: [{sys.executable}, {tmp_path / "gather.py"}, {marks}, "{n}"]
    capabilities: [g]
"""
    outcome, _ = apply_text(tmp_path, f"""
name: fan
concurrency: {n}
inputs:
  xs: {{type: array}}
steps:
  - id: each
    agents: {{capabilities: [g]}}
    forEach: inputs.xs
    task: "{{{{ item }}}}"
""", pool, {"xs": list(range(n))})
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    assert step["output"] == [f"seen {n}"] * n
    starts = [a["startedAt"] for a in step["attempts"]]
    ends = [a["finishedAt"] for a in step["attempts"]]
    assert len(starts) == n and max(starts) < min(ends)  # every attempt overlapped every other


REACT = """
name: react
steps:
  - id: test
    agents: {capabilities: [crash]}
    task: run the tests
  - id: deploy
    agents: {capabilities: [echo]}
    task: "deploy {{ steps.test.output }}"
  - id: fix
    runs: on-failure
    needs: [test]
    agents: {capabilities: [echo]}
    task: "fix: {{ steps.test.status }}: {{ steps.test.error }}"
  - id: collect
    runs: on-failure
    needs: [deploy]
    agents: {capabilities: [echo]}
    task: "deploy was {{ steps.deploy.status }}"
  - id: notify
    runs: always
    needs: [test]
    when: steps.test.status == "failed"
    agents: {capabilities: [echo]}
    task: "tests {{ steps.test.status }}"
"""


def test_steps_that_run_on_failure_react_to_a_failed_step(tmp_path):
    outcome, events = apply_text(tmp_path, REACT)
    assert outcome.exit_code == 1  # the failed step still fails the run
    steps = {s["id"]: s for s in outcome.result["steps"]}
    assert {k: s["status"] for k, s in steps.items()} == {
        "test": "failed", "deploy": "cancelled", "fix": "succeeded", "collect": "succeeded",
        "notify": "succeeded"}
    assert steps["fix"]["output"].startswith("echo: fix: failed: step `test` got no answer after 1 failed attempt(s)")
    assert steps["collect"]["output"] == "echo: deploy was cancelled"
    assert steps["notify"]["output"] == "echo: tests failed"
    assert outcome.result["error"]["message"].startswith("step `test` failed")


def test_steps_that_run_on_failure_are_skipped_when_all_went_well(tmp_path):
    outcome, _ = apply_text(tmp_path, REACT.replace("capabilities: [crash]", "capabilities: [echo]"))
    assert outcome.exit_code == 0, outcome.result["error"]
    steps = {s["id"]: s["status"] for s in outcome.result["steps"]}
    assert steps == {"test": "succeeded", "deploy": "succeeded", "fix": "skipped", "collect": "skipped",
                     "notify": "skipped"}


def test_for_each_items_spread_over_template_instances_when_one_agent_takes_one_task(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "gather.py").write_text(GATHER)
    n = 4
    pool = f"""kind: pool
name: p
runtimes:
  - type: local
    options: {{maxParallel: 1}}
templates:
  - name: gather
    maxInstances: {n}
    command: [{sys.executable}, {tmp_path / "gather.py"}, {marks}, "{n}"]
    capabilities: [g]
"""
    outcome, _ = apply_text(tmp_path, """
name: fan
inputs:
  xs: {type: array}
steps:
  - id: each
    agents: {capabilities: [g]}
    forEach: inputs.xs
    task: "{{ item }}"
""", pool, {"xs": list(range(n))})
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    assert step["output"] == [f"seen {n}"] * n
    assert sorted(a["agentId"] for a in step["attempts"]) == [f"gather-{i}" for i in range(1, n + 1)]
    assert step["agents"] == [f"gather-{i}" for i in range(1, n + 1)]


@pytest.mark.parametrize(("xs", "code", "output"), [([], 0, []), ([1, 2, 3], 2, None)])
def test_a_for_each_with_no_items_or_too_many_starts_no_agent(tmp_path, xs, code, output):
    outcome, events = apply_text(tmp_path, """
name: fan
inputs:
  xs: {type: array}
steps:
  - id: each
    agents: {capabilities: [echo]}
    forEach: inputs.xs
    maxItems: 2
    task: "{{ item }}"
""", inputs={"xs": xs})
    assert outcome.exit_code == code
    assert outcome.result["steps"][0]["output"] == output
    (cleanup,) = [e for e in events if e["event"] == "cleanup_started"]
    assert cleanup["agents"] == []
