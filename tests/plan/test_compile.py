"""Compiling pattern + pool into the plan DAG, and rendering it."""

from __future__ import annotations

import json

import pytest

from runner.agents.inprocess import PythonAgent
from runner.api import plan
from runner.context import RunContext
from runner.errors import ConfigurationError
from runner.plan.render import render
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("""
kind: pool
name: p
agents:
  - {id: remote, type: command, endpoint: "http://127.0.0.1:9", capabilities: [review]}
  - {id: local-a, command: [echo, a], capabilities: [review, lint]}
templates:
  - {name: worker, command: [echo, w], capabilities: [lint], maxInstances: 3}
""", "pool.yaml")

PATTERN = parse_pattern("""
name: p
steps:
  - id: review
    agents: {capabilities: [review], min: 2}
    task: review it
  - id: lint
    agents: {capabilities: [lint], min: 3}
    task: "lint after {{ steps.review.output }}"
  - id: report
    needs: [lint]
    agents: {capabilities: [review]}
    task: report
""", "pattern.yaml")


def compiled(tmp_path, pattern=PATTERN, pool=POOL, handles=()):
    return plan(pattern, pool, {}, RunContext(state_dir=tmp_path, environ={}), handles)


def test_nodes_edges_and_order_are_deterministic(tmp_path):
    p = compiled(tmp_path)
    assert p.order == (
        "select:review", "spawn:review", "execute:review", "aggregate:review",
        "select:lint", "spawn:lint", "execute:lint", "aggregate:lint",
        "select:report", "execute:report", "aggregate:report", "cleanup",
    )
    assert ("aggregate:review", "select:lint") in p.graph.edges  # inferred from the template
    assert ("aggregate:lint", "select:report") in p.graph.edges  # explicit needs
    assert compiled(tmp_path).order == p.order


def test_selection_prefers_existing_agents_and_spawns_the_shortfall_from_templates(tmp_path):
    p = compiled(tmp_path)
    assert [a.id for a in p.selections["review"].agents] == ["remote", "local-a"]
    assert p.selections["review"].spawn == ("local-a",)
    assert [a.id for a in p.selections["lint"].agents] == ["local-a", "worker-1", "worker-2"]
    assert p.spawned_agents == ("local-a", "worker-1", "worker-2")
    assert "spawn:report" not in p.graph  # `remote` has an endpoint: nothing to start


def test_a_short_capability_says_which_and_by_how_many(tmp_path):
    pattern = parse_pattern("name: x\nsteps:\n  - id: s\n    agents: {capabilities: [gpu], min: 2}\n    task: t\n",
                            "x.yaml")
    with pytest.raises(ConfigurationError, match=r"step `s` needs 2 agent\(s\) with capabilities \[gpu\], "
                                                 r"found 0: short by 2"):
        compiled(tmp_path, pattern)


def test_directly_given_agents_come_first(tmp_path):
    p = compiled(tmp_path, handles=[PythonAgent("py", lambda r: "x", capabilities=("review",))])
    assert [a.id for a in p.selections["review"].agents] == ["py", "remote"]


def test_render_formats(tmp_path):
    p = compiled(tmp_path)
    text = render(p, "text")
    assert "3 steps, 4 agents selected, 3 to spawn; nothing has been started" in text
    assert "select:lint" in text and "(after aggregate:review)" in text
    data = json.loads(render(p, "json"))
    assert data["spawned"] == 3 and data["nodes"][0]["id"] == "select:review"
    assert render(p, "mermaid").startswith("flowchart TD")
    assert '"aggregate:lint" -> "select:report";' in render(p, "dot")


def test_the_plan_says_when_a_step_runs_after_a_failure(tmp_path):
    pattern = parse_pattern("""
name: p
steps:
  - id: review
    agents: {capabilities: [review]}
    task: review it
  - id: fix
    runs: on-failure
    needs: [review]
    when: steps.review.status == "failed"
    agents: {capabilities: [review]}
    task: "fix: {{ steps.review.error }}"
""", "pattern.yaml")
    nodes = {n["id"]: n for n in json.loads(render(compiled(tmp_path, pattern), "json"))["nodes"]}
    assert nodes["execute:fix"]["description"].endswith('when steps.review.status == "failed", runs on-failure')


def test_a_for_each_step_has_spare_groups_of_template_instances(tmp_path):
    pattern = parse_pattern("""
name: p
steps:
  - id: each
    forEach: "[1, 2, 3]"
    agents: {capabilities: [lint], min: 2}
    task: "lint {{ item }}"
  - id: once
    agents: {capabilities: [lint], min: 2}
    task: lint
""", "pattern.yaml")
    p = compiled(tmp_path, pattern)
    assert [a.id for a in p.selections["each"].agents] == ["local-a", "worker-1"]
    assert [[a.id for a in lane] for lane in p.selections["each"].lanes] == [["worker-2", "worker-3"]]
    assert p.selections["once"].lanes == ()
    data = json.loads(render(p, "json"))
    assert data["selections"]["each"]["spare"] == [["worker-2", "worker-3"]]
    assert data["nodes"][0]["description"].endswith("; forEach may add 1 more group(s) of template instances")


def test_spare_groups_stay_within_the_runtime_max_agents(tmp_path):
    pool = parse_pool("""
kind: pool
name: p
runtimes:
  - {type: local, maxAgents: 3}
templates:
  - {name: worker, command: [echo, w], capabilities: [lint], maxInstances: 10}
""", "pool.yaml")
    pattern = parse_pattern("""
name: p
steps:
  - id: each
    forEach: "[1, 2, 3]"
    agents: {capabilities: [lint]}
    task: "lint {{ item }}"
""", "pattern.yaml")
    p = compiled(tmp_path, pattern, pool)
    assert [[a.id for a in lane] for lane in p.selections["each"].lanes] == [["worker-2"], ["worker-3"]]
