"""Usage end to end: real `command` agents report tokens/cost in their JSON answers; runner
prices tokens from the pool's table and sums them per attempt, step, agent and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_run import run, run_dirs, write_yaml

pytestmark = pytest.mark.pty


def answer(usage: dict) -> str:
    """A shell task that prints a JSON answer reporting ``usage``."""
    return "echo '" + json.dumps({"result": "ok", "confidence": 0.9, "usage": usage}) + "'"


def test_usage_is_priced_and_summed_per_step_agent_and_run(tmp_path: Path) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "pricing": {"tokens-only": {"input": 1.0, "output": 2.0}},
                                        "agents": [
        {"id": "tokens-only", "command": ["sh", "-s"], "capabilities": ["a"]},
        {"id": "paid", "command": ["sh", "-s"], "capabilities": ["b"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "u", "steps": [
        {"id": "first", "agents": {"capabilities": ["a"]},
         "task": answer({"input_tokens": 1_000_000, "output_tokens": 500_000, "turns": 1})},
        {"id": "second", "needs": ["first"], "agents": {"capabilities": ["b"]},
         "task": answer({"input_tokens": 10, "cost_usd": 0.25})}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    first, second = result["steps"]
    assert first["attempts"][0]["usage"] == {"input_tokens": 1_000_000, "output_tokens": 500_000,
                                             "cost_usd": 2.0, "turns": 1}  # priced: $1 + $1
    assert second["usage"] == {"input_tokens": 10, "cost_usd": 0.25}  # reported cost kept, nothing invented
    assert result["usage"] == {"input_tokens": 1_000_010, "output_tokens": 500_000, "cost_usd": 2.25, "turns": 1}
    assert {a["id"]: a["usage"] for a in result["agents"]} == {"tokens-only": first["usage"],
                                                               "paid": second["usage"]}
    assert run_dirs(tmp_path)


def test_a_price_table_with_a_typo_is_a_file_error(tmp_path: Path) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "pricing": {"m": {"input": 1.0, "ouput": 2.0}},
                                        "agents": [{"id": "a", "command": ["sh", "-s"], "capabilities": ["a"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "u", "steps": [{"id": "s", "agents": {"capabilities": ["a"]},
                                                             "task": "echo hi"}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "pool.yaml:" in proc.stderr and "pricing" in proc.stderr and "ouput" in proc.stderr, proc.stderr
