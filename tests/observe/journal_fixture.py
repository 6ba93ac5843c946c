"""Writes run journals the way the executor does, for the runs/logs command tests.

A run without ``result.json`` counts as running only while someone holds its journal's lock:
``hold_lock(run_dir)`` holds it (until ``release()``) exactly as a live runner does; the pid in
``run.json`` is not asked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sample_result import sample_result

from runner.journal import RunLock


def hold_lock(run_dir: Path) -> RunLock:
    """The run's journal lock, held as the runner that writes it would hold it."""
    return RunLock(run_dir)


def write_run(state_dir: Path, run_id: str, *, pid: int | None = None, finished: bool = True,
              started: str = "2026-11-25T14:00:00.000Z", secret: str = "") -> Path:
    """A run's journal; its pid (in run.json) says nothing about whether it runs (see ``hold_lock``)."""
    run_dir = state_dir / "runs" / run_id
    (run_dir / "agents").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"runId": run_id, "pattern": "code-review", "pool": "local",
                                                  "startedAt": started, "pid": pid or os.getpid()}))
    events: list[dict[str, Any]] = [
        {"time": started, "event": "run_started"},
        {"time": started, "event": "step_started", "stepId": "lint"},
        {"time": started, "event": "attempt_finished", "stepId": "lint", "agentId": "a2", "attempt": 1,
         "status": "ok", "output": "remote says pass"},
        {"time": started, "event": "step_finished", "stepId": "lint", "status": "succeeded", "durationMs": 2000,
         "confidence": 0.9, "output": "pass"},
        {"time": started, "event": "attempt_finished", "stepId": "test", "agentId": "a1", "attempt": 1,
         "status": "failed", "output": "covered by the transcript"},
    ]
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events) + '{"torn": ')
    (run_dir / "agents" / "a1.log").write_text(f"$ checker --lint\nall good\n{secret}\n")
    (run_dir / "agents" / "a3.log").write_text("a3 linted too\n")
    if finished:
        result = sample_result(secret)
        result.update(runId=run_id, startedAt=started)
        (run_dir / "result.json").write_text(json.dumps(result))
    return run_dir
