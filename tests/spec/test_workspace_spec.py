"""The step keys `workspace`, `verify` and `land`: loaded into the model, errors with their line."""

from __future__ import annotations

import re
from pathlib import Path

from runner.spec import parse_pattern

DOC = Path(__file__).resolve().parents[2] / "docs" / "workspaces.md"


def test_short_and_long_forms_build_the_model():
    p = parse_pattern("""
name: ws
steps:
  - id: a
    task: "try {{ attempt.number }}: {{ attempt.feedback }}"
    workspace: copy
    verify: make test
    land: patch
  - id: b
    task: hi
    workspace: {from: "{{ steps.a.output }}", mode: worktree, base: main, requireChange: true}
    verify: {run: pytest -q, timeout: 2m, env: {CI: 1}}
    land: {to: branch, branch: "x/{{ steps.a.output }}", message: done}
    aggregation: best-change
    retry: {limit: 1, on: [verify, no-change, denied]}
""", "ws.yaml")
    a, b = p.steps
    assert (a.workspace.mode, a.verify.run, a.land.to) == ("copy", "make test", "patch")
    assert (b.workspace.source, b.workspace.base, b.workspace.require_change) == ("{{ steps.a.output }}", "main", True)
    assert (b.verify.timeout, dict(b.verify.env)) == (120.0, {"CI": "1"})
    assert (b.land.to, b.land.branch, b.land.message) == ("branch", "x/{{ steps.a.output }}", "done")
    assert b.aggregation.type == "best-change" and b.retry.on == ("verify", "no-change", "denied")


def test_errors_point_at_the_keys(problems):
    assert problems("""
        name: ws
        steps:
          - id: a
            task: hi
            workspace: {mode: sandbox, form: x}
            land: branchh
          - id: b
            task: "{{ attempt.number }}"
            when: "attempt.number > 1"
            verify: {run: "{{ inputs.nope }}"}
            land: {to: patch, path: "{{ steps.zz.output }}"}
            aggregation: best-change
        """) == [
        'f.yaml:5:23: $.steps[0].workspace.mode: expected one of: worktree, copy, shared, readonly, got string "sandbox"',
        "f.yaml:5:32: $.steps[0].workspace.form: unknown key `form` (did you mean `from`?)",
        'f.yaml:6:11: $.steps[0].land: expected one of: patch, branch, apply, got string "branchh" '
        "(did you mean `branch`?)",
        "f.yaml:9:11: $.steps[1].when: `attempt` is only defined in the task of a step (each attempt renders it: "
        "`attempt.number`, `attempt.feedback`)",
        "f.yaml:10:13: $.steps[1].verify: needs a `workspace` whose change is captured (mode worktree, copy or "
        "readonly; see docs/workspaces.md)",
        "f.yaml:10:19: $.steps[1].verify.run: unknown input `nope` (the pattern declares no inputs)",
        "f.yaml:11:11: $.steps[1].land: needs a `workspace` whose change is captured (mode worktree, copy or "
        "readonly; see docs/workspaces.md)",
        "f.yaml:11:29: $.steps[1].land.path: unknown step `zz` (expected one of: `a`, `b`)",
        "f.yaml:12:18: $.steps[1].aggregation: needs a `workspace` whose change is captured (mode worktree, copy "
        "or readonly; see docs/workspaces.md)",
    ]


def test_the_yaml_examples_of_the_workspaces_doc_load():
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for block in blocks:
        parse_pattern(block, "docs/workspaces.md")


def test_a_judge_step_lands_the_change_it_names():
    p = parse_pattern("""
name: judged
steps:
  - id: implement
    task: do it
    workspace: {requireChange: true}
  - id: judge
    task: "pick one of {{ steps.implement.changes | map(attribute='agent') | join(', ') }}"
    land: {to: branch, branch: judged, from: implement, change: "{{ steps.judge.output | trim }}"}
""", "j.yaml")
    judge = p.steps[1]
    assert (judge.land.source, judge.land.change) == ("implement", "{{ steps.judge.output | trim }}")
    from runner.spec.templates import step_dependencies

    assert step_dependencies(judge) == ("implement",)  # its own output in land.change is no cycle


def test_land_from_errors_point_at_the_key(problems):
    assert problems("""
        name: judged
        steps:
          - id: implement
            task: do it
            workspace: shared
          - id: judge
            task: pick
            land: {to: branch, from: implemnt}
          - id: judge2
            task: pick
            land: {to: patch, from: implement, change: "{{ steps.nope.output }}"}
          - id: judge3
            task: pick
            land: {to: patch, change: "{{ steps.judge3.output }}"}
        """) == [
        "f.yaml:8:30: $.steps[1].land.from: unknown step `implemnt` (did you mean `implement`?)",
        "f.yaml:11:29: $.steps[2].land.from: step `implement` has no `workspace` whose change is captured: "
        "there is no change of it to land",
        "f.yaml:11:48: $.steps[2].land.change: unknown step `nope` (expected one of: `implement`, `judge`, "
        "`judge2`, `judge3`)",
        "f.yaml:14:11: $.steps[3].land: needs a `workspace` whose change is captured (mode worktree, copy or "
        "readonly; see docs/workspaces.md)",
    ]
