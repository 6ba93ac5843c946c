"""A pattern with calls (`uses:`) compiles to one DAG: each call's select before its steps, its
aggregate after them; the renderings nest the calls; the report's step graph groups them."""

from __future__ import annotations

import json
from pathlib import Path

from runner.api import plan
from runner.context import RunContext
from runner.plan.render import render, step_graph
from runner.spec import load_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: p\nagents:\n  - {id: a, command: [echo, a], capabilities: [x]}\n", "pool.yaml")


def compiled(tmp_path: Path):
    (tmp_path / "top.yaml").write_text("""name: top
steps:
  - id: first
    task: go
  - id: call
    uses: ./mid.yaml
    with: {n: 2}
  - id: last
    task: "{{ steps.call.outputs.out }}"
""")
    (tmp_path / "mid.yaml").write_text("""name: mid
inputs:
  n: {type: integer, required: true}
steps:
  - id: one
    task: "{{ inputs.n }}"
  - id: two
    uses: ./leaf.yaml
  - id: three
    task: "{{ steps.two.output }} {{ steps.one.output }}"
outputs:
  out: "{{ steps.three.output }}"
""")
    (tmp_path / "leaf.yaml").write_text("name: leaf\nsteps: [{id: only, task: x}]\noutputs: {o: x}\n")
    return plan(load_pattern(tmp_path / "top.yaml"), POOL, {}, RunContext(state_dir=tmp_path, environ={}))


def test_a_call_wraps_its_steps_and_their_dependencies_are_in_its_scope(tmp_path):
    p = compiled(tmp_path)
    after = {n: sorted(p.graph.predecessors(n)) for n in p.order}
    assert after["select:call"] == []  # it reads no step
    assert after["select:call/one"] == ["select:call"]
    assert after["select:call/two/only"] == ["select:call/two"]
    assert after["select:call/three"] == ["aggregate:call/one", "aggregate:call/two", "select:call"]
    assert after["aggregate:call"] == ["aggregate:call/one", "aggregate:call/three", "aggregate:call/two",
                                       "select:call"]
    assert after["select:last"] == ["aggregate:call"]
    assert [n for n in p.order if n.startswith("aggregate:")] == [
        "aggregate:first", "aggregate:call/one", "aggregate:call/two/only", "aggregate:call/two",
        "aggregate:call/three", "aggregate:call", "aggregate:last"]


def test_the_renderings_nest_the_calls(tmp_path):
    p = compiled(tmp_path)
    text = render(p, "text").splitlines()
    assert any(line.endswith("call ./mid.yaml (mid 0.1.0), with n") and " select:call " in line for line in text)
    assert any("     select:call/two/only " in line for line in text), text  # two levels: four spaces
    assert any(line.endswith("outputs out of ./mid.yaml") for line in text)
    mermaid = render(p, "mermaid")
    assert '    subgraph call_call["call: ./mid.yaml"]\n        select_call["select:call"]' in mermaid
    assert '        subgraph call_call__two["call/two: ./leaf.yaml"]\n' in mermaid
    dot = render(p, "dot")
    lines = dot.splitlines()
    assert [line for line in lines if line.strip() == "}"] == ["        }", "    }", "}"]
    data = json.loads(render(p, "json"))
    assert data["calls"]["call/two"] == {"uses": "./leaf.yaml", "pattern": "leaf", "version": "0.1.0",
                                         "source": str(tmp_path / "leaf.yaml"), "outputs": ["o"]}
    assert data["selections"]["call"]["agents"] == []


def test_the_step_graph_groups_a_call_s_steps_without_a_cycle(tmp_path):
    steps = {s["id"]: s for s in step_graph(compiled(tmp_path))["steps"]}
    assert {k: s["group"] for k, s in steps.items()} == {
        "first": None, "call": None, "call/one": "call", "call/two": "call", "call/two/only": "call/two",
        "call/three": "call", "last": None}
    assert steps["call"]["needs"] == [] and steps["call/one"]["needs"] == ["call"]
    assert steps["last"]["needs"] == ["call"]
