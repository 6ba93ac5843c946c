"""Helpers for lifecycle tests: find an agent's process, poll with a deadline."""

from __future__ import annotations

import time

from local_helpers import run_processes


def agent_pid(run_id: str, agent_id: str) -> int:
    pids = [p.pid for p in run_processes(run_id) if p.environ().get("RUNNER_AGENT_ID") == agent_id]
    assert len(pids) == 1, pids
    return pids[0]


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")
