"""Calls (`uses:`) run on real per-task command agents: the callee's steps are steps of the run,
its inputs come from `with`, its outputs become `steps.ID.outputs`; a skipped call skips its
steps, a failed inner step fails the call, a template input that does not fit fails it as config."""

from __future__ import annotations

from pathlib import Path

import pytest
from command_pool import run_on_pool

from runner.observe.report import validate_result
from runner.spec import load_pattern

pytestmark = pytest.mark.pty

SUM = """name: sum
inputs:
  items: {type: array, required: true}
  label: {type: string, default: total}
  n: {type: integer, default: 1}
steps:
  - id: each
    agents: {capabilities: [echo]}
    task: "{{ inputs.label }} {{ inputs.items | join('+') }} x{{ inputs.n + 1 }}"
outputs:
  text: "{{ steps.each.output }}"
  count: "{{ inputs.items | length }}"
"""


def run(tmp_path: Path, top: str, **files: str):
    for name, text in {"top": top, **files}.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    outcome, events = run_on_pool(tmp_path, load_pattern(tmp_path / "top.yaml"))
    assert validate_result(outcome.result) == []
    steps = {s["id"]: s for s in outcome.result["steps"]}
    return outcome, steps, events


def test_a_call_gives_inputs_and_takes_outputs(tmp_path):
    outcome, steps, _ = run(tmp_path, """name: top
steps:
  - id: first
    agents: {capabilities: [echo]}
    task: go
  - id: add
    uses: ./sum.yaml
    with: {items: "{{ ['a', steps.first.output] }}", n: "{{ 2 }}"}
  - id: after
    agents: {capabilities: [echo]}
    task: "{{ steps.add.outputs.count }} / {{ steps.add.output.text }}"
outputs:
  text: "{{ steps.add.outputs.text }}"
""", sum=SUM)
    assert outcome.exit_code == 0, outcome.result["error"]
    assert list(steps) == ["first", "add", "add/each", "after"]
    assert steps["add/each"]["output"] == "echo: total a+echo: go x3"  # a list and an integer kept their types
    assert steps["add"]["uses"] == "./sum.yaml"
    assert steps["add"]["outputs"] == {"text": "echo: total a+echo: go x3", "count": "2"}
    assert steps["add"]["output"] == steps["add"]["outputs"]  # several outputs: all of them
    assert steps["after"]["output"] == "echo: 2 / echo: total a+echo: go x3"
    assert outcome.result["outputs"] == {"text": "echo: total a+echo: go x3"}


def test_nested_calls_read_their_own_scope(tmp_path):
    outcome, steps, _ = run(tmp_path, """name: top
inputs:
  word: {type: string, default: top-word}
steps:
  - id: mid
    uses: ./mid.yaml
    with: {word: "{{ inputs.word }}!"}
outputs:
  final: "{{ steps.mid.output }}"
""", mid="""name: mid
inputs:
  word: {type: string, required: true}
steps:
  - id: each
    agents: {capabilities: [echo]}
    task: "mid {{ inputs.word }}"
  - id: deeper
    uses: ./sum.yaml
    with: {items: "{{ [inputs.word, steps.each.output] }}", label: deep}
outputs:
  out: "{{ steps.deeper.outputs.text }}"
""", sum=SUM)
    assert outcome.exit_code == 0, outcome.result["error"]
    assert list(steps) == ["mid", "mid/each", "mid/deeper", "mid/deeper/each"]
    assert steps["mid/each"]["output"] == "echo: mid top-word!"
    assert steps["mid/deeper/each"]["output"] == "echo: deep top-word!+echo: mid top-word! x2"
    assert outcome.result["outputs"]["final"] == steps["mid/deeper/each"]["output"]


def test_a_call_whose_when_is_false_skips_its_steps(tmp_path):
    outcome, steps, events = run(tmp_path, """name: top
steps:
  - id: add
    uses: ./sum.yaml
    when: "1 > 2"
    with: {items: [x]}
""", sum=SUM)
    assert outcome.exit_code == 0, outcome.result["error"]
    assert {k: s["status"] for k, s in steps.items()} == {"add": "skipped", "add/each": "skipped"}
    skipped = {e["step"]: e["reason"] for e in events if e["event"] == "step_skipped"}
    assert skipped == {"add": "when: 1 > 2", "add/each": "call `add` was skipped"}
    assert not [e for e in events if e["event"] == "attempt_started"]


def test_a_failed_inner_step_fails_the_call(tmp_path):
    outcome, steps, _ = run(tmp_path, """name: top
steps:
  - id: call
    uses: ./bad.yaml
  - id: after
    agents: {capabilities: [echo]}
    task: "{{ steps.call.output }}"
""", bad="""name: bad
steps:
  - id: boom
    agents: {capabilities: [crash]}
    task: go
outputs:
  o: "{{ steps.boom.output }}"
""")
    assert outcome.exit_code == 1
    assert {k: s["status"] for k, s in steps.items()} == {"call": "failed", "call/boom": "failed", "after": "cancelled"}
    assert steps["call"]["error"]["kind"] == steps["call/boom"]["error"]["kind"] == "task"
    assert steps["call"]["error"]["message"].startswith("step `call/boom` failed: ")


def test_a_template_input_that_does_not_fit_fails_the_call_as_config(tmp_path):
    outcome, steps, _ = run(tmp_path, """name: top
steps:
  - id: add
    uses: ./sum.yaml
    with: {items: "{{ 'not a list' }}"}
""", sum=SUM)
    assert outcome.exit_code == 2
    assert steps["add"]["status"] == "failed" and steps["add/each"]["status"] == "cancelled"
    assert steps["add"]["error"] == {"kind": "config", "message": 'input `items` of `./sum.yaml`: expected a list '
                                     'written as JSON, got "not a list"'}


def test_a_call_that_runs_always_runs_its_steps_after_fail_fast(tmp_path):
    outcome, steps, _ = run(tmp_path, """name: top
steps:
  - id: boom
    agents: {capabilities: [crash]}
    task: go
  - id: report
    uses: ./sum.yaml
    needs: [boom]
    runs: always
    with: {items: "{{ [steps.boom.status] }}"}
""", sum=SUM)
    assert outcome.exit_code == 1
    assert {k: s["status"] for k, s in steps.items()} == {"boom": "failed", "report": "succeeded",
                                                           "report/each": "succeeded"}
