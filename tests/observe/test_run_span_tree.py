"""A real run (local `command` agents in PTYs) through ``runner.api.apply`` with the console
exporter: the span tree has the right parents and attributes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from trace_capture import by_name, console_spans, parse_spans

from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

ANSWER = str(Path(__file__).parents[1] / "helpers" / "programs" / "answer_json.py")
POOL = {"name": "local", "agents": [
    {"id": name, "command": [sys.executable, ANSWER], "capabilities": ["review"]} for name in ("r1", "r2")]}
PATTERN = {"name": "traced", "steps": [
    {"id": "review", "agents": {"capabilities": ["review"], "min": 2}, "task": "look at it",
     "strategy": "parallel", "aggregation": {"type": "voting", "method": "majority"}},
    {"id": "again", "needs": ["review"], "agents": {"capabilities": ["review"]}, "task": "once more"}]}


def test_a_real_run_yields_the_span_tree(monkeypatch, tmp_path):
    pattern = parse_pattern(json.dumps(PATTERN), str(tmp_path / "p.yaml"))
    pool = parse_pool(json.dumps(POOL), str(tmp_path / "pool.yaml"))
    with console_spans(monkeypatch) as out:
        outcome = apply(pattern, pool, {}, ctx=RunContext(pattern_name="traced", state_dir=tmp_path))
    assert outcome.exit_code == 0, outcome.result
    spans = parse_spans(out.getvalue())
    [root] = by_name(spans, "pattern-execution")
    assert root["parent_id"] is None
    assert root["attributes"]["pattern.name"] == "traced"
    assert root["attributes"]["run.id"] == outcome.result["runId"]
    assert root["attributes"]["status"] == "succeeded"
    root_id, trace_id = root["context"]["span_id"], root["context"]["trace_id"]
    # Every other span is a direct child of the root, in its trace (worker threads included).
    for span in spans:
        assert span["context"]["trace_id"] == trace_id, span["name"]
        if span is not root:
            assert span["parent_id"] == root_id, (span["name"], span["attributes"])
    selects = {s["attributes"]["step.id"]: s["attributes"] for s in by_name(spans, "select-agents")}
    assert selects == {"review": {"step.id": "review", "agent.count": 2, "capabilities": ["review"]},
                       "again": {"step.id": "again", "agent.count": 1, "capabilities": ["review"]}}
    spawns = sorted((s["attributes"] for s in by_name(spans, "spawn-agent")), key=lambda a: a["agent.id"])
    assert spawns == [{"agent.id": a, "agent.type": "command", "runtime": "local"} for a in ("r1", "r2")]
    tasks = by_name(spans, "execute-task")
    assert sorted((t["attributes"]["step.id"], t["attributes"]["agent.id"]) for t in tasks) == \
        [("again", "r1"), ("review", "r1"), ("review", "r2")]
    for task in tasks:
        attrs = task["attributes"]
        assert attrs["agent.type"] == "command" and attrs["confidence"] == 0.9
        assert isinstance(attrs["duration_ms"], int) and 0 <= attrs["duration_ms"] < 30_000
        assert task["status"]["status_code"] == "UNSET"
    [cleanup] = by_name(spans, "cleanup-agents")
    assert cleanup["attributes"] == {"agent.count": 2}
    # Time order: the root spans the others; cleanup comes after every task.
    assert cleanup["start_time"] >= max(t["end_time"] for t in tasks)


def test_runner_apply_exports_the_tree_to_stderr(tmp_path):
    """The CLI: ``OTEL_TRACES_EXPORTER=console`` puts one span a line on stderr, between JSON logs."""
    from e2e_run import env, run, write_yaml

    write_yaml(tmp_path / "pool.yaml", POOL)
    write_yaml(tmp_path / "p.yaml", PATTERN)
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path, env=env(OTEL_TRACES_EXPORTER="console"))
    assert proc.returncode == 0, proc.stderr
    spans = [s for s in parse_spans(proc.stderr) if "span_id" in s.get("context", {})]
    [root] = by_name(spans, "pattern-execution")
    assert sorted(s["name"] for s in spans if s["parent_id"] == root["context"]["span_id"]) == \
        ["cleanup-agents", "execute-task", "execute-task", "execute-task", "select-agents", "select-agents",
         "spawn-agent", "spawn-agent"]
    assert len(spans) == 9
