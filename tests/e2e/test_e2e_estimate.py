"""`runner plan` estimates a run's cost from a cassette (--replay) or from past runs of the
same pattern, next to its budgets; with neither it estimates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_run import assert_no_traceback, run, write_yaml

pytestmark = pytest.mark.pty

ANSWER = "echo '" + json.dumps({"result": "yes", "confidence": 0.9,
                                "usage": {"input_tokens": 400, "output_tokens": 100}}) + "'"


def _files(tmp_path: Path, **pattern: object) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "a1", "command": ["sh", "-c", ANSWER], "capabilities": ["vote"]},
        {"id": "a2", "command": ["sh", "-c", ANSWER], "capabilities": ["vote"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "est", "version": "2", **pattern, "steps": [
        {"id": "ask", "agents": {"capabilities": ["vote"], "min": 2}, "task": "vote",
         "aggregation": {"type": "voting", "complete": True}}]})


def test_plan_estimates_from_past_runs_of_the_pattern_and_warns_of_a_budget(tmp_path: Path) -> None:
    _files(tmp_path)
    before = run(["plan", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert before.returncode == 0 and "estimate" not in before.stdout
    for _ in range(2):
        assert run(["apply", "p.yaml", "--pool", "pool.yaml", "-q"], tmp_path).returncode == 0
    plan = run(["plan", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert plan.returncode == 0, plan.stderr
    line = next(x for x in plan.stdout.splitlines() if x.startswith("estimate: "))
    assert line.startswith("estimate: ~1,000 tokens, ~") and line.endswith(
        "s (the median of the latest 2 succeeded run(s) of est 2 in .runner/runs)")
    as_json = json.loads(run(["plan", "p.yaml", "--pool", "pool.yaml", "-f", "json"], tmp_path).stdout)
    assert as_json["estimate"]["tokens"] == 1000 and as_json["estimate"]["time"] > 0
    _files(tmp_path, budget={"tokens": 800})
    bounded = run(["plan", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert "budget: tokens 800" in bounded.stdout
    assert "warning: the estimate reaches the run's tokens budget 800" in bounded.stdout


def test_plan_estimates_from_a_cassette_and_refuses_one_of_another_pattern(tmp_path: Path) -> None:
    _files(tmp_path)
    assert run(["apply", "p.yaml", "--pool", "pool.yaml", "-q", "--record", "c.jsonl", "--state-dir", "elsewhere"],
               tmp_path).returncode == 0
    plan = run(["plan", "p.yaml", "--pool", "pool.yaml", "--replay", "c.jsonl"], tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "estimate: ~1,000 tokens (the cassette c.jsonl (2 recorded answers; it holds no times))" in plan.stdout
    write_yaml(tmp_path / "other.yaml", {"name": "other", "steps": [{"id": "x", "task": "go"}]})
    wrong = run(["plan", "other.yaml", "--replay", "c.jsonl"], tmp_path)
    assert wrong.returncode == 2 and "was recorded for pattern est version 2" in wrong.stderr
    assert_no_traceback(wrong)
