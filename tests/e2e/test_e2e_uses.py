"""Calls (`uses:`) through the real CLI: a two-level tree planned (text, mermaid, dot), applied on
real command agents, then read back by `runner runs show` and `runner report`; a cycle and a
bad call are exit 2 with placed one-line errors and no traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from e2e_run import assert_no_traceback, run

pytestmark = pytest.mark.pty

ECHO = Path(__file__).resolve().parents[1] / "helpers" / "programs" / "answer_json.py"


def tree(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "top.yaml").write_text("""name: top
steps:
  - id: ask
    agents: {capabilities: [echo]}
    task: start
  - id: outer
    uses: ./lib/mid.yaml
    with: {topic: "{{ steps.ask.output }}"}
outputs:
  final: "{{ steps.outer.output }}"
""")
    (tmp_path / "lib" / "mid.yaml").write_text("""name: mid
inputs:
  topic: {type: string, required: true}
steps:
  - id: inner
    uses: ./leaf.yaml
    with: {text: "mid {{ inputs.topic }}"}
outputs:
  said: "{{ steps.inner.outputs.said }}"
""")
    (tmp_path / "lib" / "leaf.yaml").write_text("""name: leaf
inputs:
  text: {type: string, required: true}
steps:
  - id: say
    agents: {capabilities: [echo]}
    task: "leaf {{ inputs.text }}"
outputs:
  said: "{{ steps.say.output }}"
""")
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: p
agents:
  - {{id: echo, command: [{sys.executable}, {ECHO}], capabilities: [echo]}}
""")


@pytest.mark.slow  # fast lane: calls: the other tests here, tests/execute/test_calls.py
def test_a_tree_of_calls_is_one_plan_one_run_one_report(tmp_path: Path) -> None:
    tree(tmp_path)
    plan = run(["plan", "top.yaml", "--pool", "pool.yaml"], tmp_path)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert any(line.split(". ", 1)[-1].startswith("select:outer ") and "call ./lib/mid.yaml (mid 0.1.0), with topic"
               in line for line in lines), plan.stdout
    assert any("    execute:outer/inner/say " in line for line in lines), plan.stdout  # two levels in
    mermaid = run(["plan", "top.yaml", "--pool", "pool.yaml", "--format", "mermaid"], tmp_path).stdout
    assert '    subgraph call_outer["outer: ./lib/mid.yaml"]' in mermaid
    assert '        subgraph call_outer__inner["outer/inner: ./leaf.yaml"]' in mermaid
    assert '            execute_outer__inner__say["execute:outer/inner/say"]' in mermaid
    dot = run(["plan", "top.yaml", "--pool", "pool.yaml", "--format", "dot"], tmp_path).stdout
    assert 'subgraph "cluster_outer/inner" { label="outer/inner: ./leaf.yaml";' in dot

    applied = run(["apply", "top.yaml", "--pool", "pool.yaml", "-o", "r.json"], tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert_no_traceback(applied)
    assert "] step outer: running (calls ./lib/mid.yaml)" in applied.stderr  # the live lines
    result = json.loads((tmp_path / "r.json").read_text())
    assert [s["id"] for s in result["steps"]] == ["ask", "outer", "outer/inner", "outer/inner/say"]
    assert result["outputs"] == {"final": "echo: leaf mid echo: start"}
    assert result["steps"][1]["outputs"] == {"said": "echo: leaf mid echo: start"}

    shown = run(["runs", "show", "latest"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert any(line.startswith("outer/inner/say ") and "succeeded" in line for line in shown.stdout.splitlines())
    report = run(["report", "latest", "-o", "r.html"], tmp_path)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "r.html").read_text()
    assert 'data-group="outer"' in html and 'data-group="outer/inner"' in html


def test_bad_calls_are_exit_2_with_placed_errors(tmp_path: Path) -> None:
    tree(tmp_path)
    (tmp_path / "lib" / "leaf.yaml").write_text("name: leaf\nsteps:\n  - id: back\n    uses: ./mid.yaml\n"
                                                "    with: {topic: x}\n")
    proc = run(["apply", "top.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stderr.splitlines()[0] == ("error: lib/leaf.yaml:4:5: $.steps[0].uses: cycle of `uses`: "
                                           "lib/mid.yaml -> lib/leaf.yaml -> lib/mid.yaml")
    (tmp_path / "lib" / "leaf.yaml").write_text("name: leaf\ninputs: {text: {type: string}}\nsteps: [{id: x, task: x}]\n"
                                                "outputs: {said: x}\n")
    (tmp_path / "top.yaml").write_text("name: top\nsteps:\n  - id: c\n    uses: ./lib/mid.yaml\n"
                                       "    with: {topic: [x]}\n  - {id: d, task: '{{ steps.c.outputs.sad }}'}\n")
    proc = run(["validate", "top.yaml"], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        "top.yaml:5:12: $.steps[0].with.topic: input `topic` of `./lib/mid.yaml` (lib/mid.yaml): "
        "expected a string, got a list",
        "top.yaml:6:13: $.steps[1].task: `./lib/mid.yaml` (lib/mid.yaml) has no output `sad` (did you mean `said`?)",
        "2 errors in 1 file",
    ]


def test_resume_reuses_the_steps_of_a_call_one_by_one(tmp_path: Path) -> None:
    """A called step that crashed runs again on --resume; its sibling that succeeded is reused."""
    (tmp_path / "lib.yaml").write_text("""name: lib
steps:
  - id: fine
    agents: {capabilities: [echo]}
    task: fine
  - id: flaky
    agents: {capabilities: [once]}
    task: "after {{ steps.fine.output }}"
outputs:
  out: "{{ steps.flaky.output }}"
""")
    (tmp_path / "top.yaml").write_text("name: top\nsteps:\n  - id: c\n    uses: ./lib.yaml\n"
                                       "outputs:\n  out: '{{ steps.c.output }}'\n")
    agent = Path(__file__).with_name("e2e_agent.py")
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: p
agents:
  - {{id: echo, command: [{sys.executable}, {ECHO}], capabilities: [echo]}}
  - {{id: once, command: [{sys.executable}, {agent}, killonce, {tmp_path / "state"}], capabilities: [once]}}
""")
    first = run(["apply", "top.yaml", "--pool", "pool.yaml", "-o", "r1.json"], tmp_path)
    assert first.returncode == 1, first.stderr
    steps = {s["id"]: s["status"] for s in json.loads((tmp_path / "r1.json").read_text())["steps"]}
    assert steps == {"c": "failed", "c/fine": "succeeded", "c/flaky": "failed"}
    again = run(["apply", "--resume", "latest", "-o", "r2.json"], tmp_path)
    assert again.returncode == 0, again.stderr
    result = json.loads((tmp_path / "r2.json").read_text())
    by_id = {s["id"]: s for s in result["steps"]}
    assert "reusedFrom" in by_id["c/fine"] and "reusedFrom" not in by_id["c/flaky"] and "reusedFrom" not in by_id["c"]
    assert by_id["c/flaky"]["status"] == "succeeded" and by_id["c/flaky"]["output"]
    assert result["outputs"] == {"out": by_id["c/flaky"]["output"]} == by_id["c"]["outputs"]
