"""Runs for the run report tests, made by the real `runner apply` with real `command` agents
(tests/observe/report_agent.py): a passing run, a failed run with retries, a race, a vote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

RUNNER = str(Path(sys.executable).with_name("runner"))
AGENT = str(Path(__file__).with_name("report_agent.py"))
#: an answer a page must show as text: markup and a script end in it
HOSTILE = '<b id="pwn">bold</b></script><script>window.pwned = 1</script><img src=x onerror="window.pwned=2">'


def _agent(agent_id: str, caps: list[str], *args: str, **extra: Any) -> dict[str, Any]:
    return {"id": agent_id, "command": [sys.executable, AGENT, *args], "capabilities": caps, **extra}


POOL = {"name": "report-agents", "agents": [
    _agent("yes-a", ["vote"], "answer", "yes", "0.9"),
    _agent("yes-b", ["vote"], "answer", "yes", "0.8"),
    _agent("nay", ["vote"], "answer", "no", "0.6"),
    _agent("fast", ["race"], "answer", "fast", "0.9"),
    _agent("slow", ["race"], "sleep", "30", "slow", "0.9"),
    _agent("broken", ["broken"], "fail"),
    _agent("writer", ["write"], "answer", "written", "1.0"),
    _agent("echo", ["echo"], "echo", "0.7"),
]}

PATTERNS: dict[str, dict[str, Any]] = {
    "pass": {"name": "passing", "steps": [
        {"id": "prepare", "agents": {"capabilities": ["write"]}, "task": "prepare"},
        {"id": "inspect", "agents": {"capabilities": ["echo"]}, "task": HOSTILE},
        {"id": "ship", "agents": {"capabilities": ["write"]}, "task": "ship {{ steps.prepare.output }}",
         "needs": ["prepare", "inspect"]}]},
    "retry": {"name": "retries", "steps": [
        {"id": "flaky", "agents": {"capabilities": ["broken"]}, "task": "try",
         "retry": {"limit": 2, "backoff": {"initial": "10ms"}, "on": ["task"]}},
        {"id": "after", "agents": {"capabilities": ["write"]}, "task": "never", "needs": ["flaky"]}]},
    "race": {"name": "race", "steps": [
        {"id": "first", "agents": {"capabilities": ["race"], "min": 2}, "task": "go", "strategy": "race"}]},
    "vote": {"name": "vote", "steps": [
        {"id": "decide", "agents": {"capabilities": ["vote"], "min": 3}, "task": "ship it?",
         "aggregation": {"type": "voting", "method": "majority"}}]},
}
EXIT = {"pass": 0, "retry": 1, "race": 0, "vote": 0}


def make_run(folder: Path, kind: str) -> tuple[Path, dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run pattern ``kind`` in ``folder`` with ``--html``; (report path, result, process)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pool.yaml").write_text(json.dumps(POOL))
    (folder / f"{kind}.yaml").write_text(json.dumps(PATTERNS[kind]))
    proc = subprocess.run([RUNNER, "apply", f"{kind}.yaml", "--pool", "pool.yaml", "-o", f"{kind}.json",
                           "--html", f"{kind}.html"], cwd=folder, capture_output=True, text=True, timeout=90)
    assert proc.returncode == EXIT[kind], proc.stderr
    return folder / f"{kind}.html", json.loads((folder / f"{kind}.json").read_text()), proc
