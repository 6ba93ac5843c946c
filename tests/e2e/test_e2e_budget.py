"""Budgets enforced on real `command` agents that report usage in their answers: a run over a
budget stops with exit 1 and a message naming the budget, the total and the step; the
answers so far are kept; nothing it started is left running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_run import assert_no_traceback, processes_of_run, run, run_dirs, write_yaml

pytestmark = pytest.mark.pty

FAST = "echo '" + json.dumps({"result": "yes", "confidence": 0.9,
                              "usage": {"input_tokens": 400, "output_tokens": 100}}) + "'"


def pool(tmp_path: Path) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "fast", "command": ["sh", "-c", FAST], "capabilities": ["vote"]},
        {"id": "slow", "command": ["sh", "-c", "sleep 60; " + FAST], "capabilities": ["vote"]}]})


def result_of(tmp_path: Path) -> dict:
    return json.loads((run_dirs(tmp_path)[0] / "result.json").read_text())


def assert_nothing_left(tmp_path: Path) -> None:
    assert processes_of_run(result_of(tmp_path)["runId"]) == []


def test_a_run_over_its_token_budget_stops_cancels_and_exits_1(tmp_path: Path) -> None:
    pool(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "b", "budget": {"tokens": 300}, "steps": [
        {"id": "ask", "agents": {"capabilities": ["vote"], "min": 2}, "task": "vote"},
        {"id": "after", "needs": ["ask"], "agents": {"capabilities": ["vote"]}, "task": "again"}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path, timeout=50)
    assert proc.returncode == 1, proc.stderr
    assert_no_traceback(proc)
    assert "step `ask`: the run's tokens budget of 300 tokens was reached (500 tokens spent)" in proc.stderr
    result = result_of(tmp_path)
    ask, after = result["steps"]
    assert ask["status"] == "failed" and ask["error"]["kind"] == "budget"
    assert result["error"]["kind"] == "budget"
    kept = [a for a in ask["attempts"] if a["status"] == "ok"]
    assert [a["agentId"] for a in kept] == ["fast"] and kept[0]["result"] == "yes"  # produced so far: kept
    assert {a["agentId"]: a["status"] for a in ask["attempts"]}["slow"] == "cancelled"
    assert after["status"] in ("cancelled", "pending") and after["attempts"] == []
    assert result["usage"] == {"input_tokens": 400, "output_tokens": 100}
    assert_nothing_left(tmp_path)


def test_a_step_over_its_time_budget_stops_the_run(tmp_path: Path) -> None:
    pool(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "b", "steps": [
        {"id": "wait", "budget": {"time": "1s"}, "agents": {"capabilities": ["vote"], "min": 2}, "task": "vote"}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path, timeout=50)
    assert proc.returncode == 1, proc.stderr
    assert "step `wait`: step `wait`'s time budget of 1s was reached" in proc.stderr
    step = result_of(tmp_path)["steps"][0]
    assert step["status"] == "failed" and step["error"]["kind"] == "budget"
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize("budget,where", [({"tokens": 0}, "$.budget.tokens"), ({"cost": -1}, "$.budget.cost"),
                                          ({"time": "0s"}, "$.budget.time")])
def test_a_budget_of_zero_or_less_is_a_file_error(tmp_path: Path, budget: dict, where: str) -> None:
    pool(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "b", "budget": budget, "steps": [
        {"id": "ask", "agents": {"capabilities": ["vote"]}, "task": "vote"}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert "error: p.yaml:4:" in proc.stderr and f"{where}: must be greater than 0" in proc.stderr, proc.stderr


def test_plan_prints_the_budgets(tmp_path: Path) -> None:
    pool(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "b", "budget": {"cost": 2.5, "tokens": 1000, "time": "30m"}, "steps": [
        {"id": "ask", "budget": {"tokens": 500}, "agents": {"capabilities": ["vote"]}, "task": "vote"}]})
    proc = run(["plan", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "budget: cost $2.5, tokens 1000, time 1800s" in proc.stdout
    assert "budget tokens 500" in proc.stdout
    plan = json.loads(run(["plan", "p.yaml", "--pool", "pool.yaml", "-f", "json"], tmp_path).stdout)
    assert plan["budget"] == {"cost": 2.5, "tokens": 1000, "time": 1800.0}
    assert plan["budgets"] == {"ask": {"cost": None, "tokens": 500, "time": None}}
