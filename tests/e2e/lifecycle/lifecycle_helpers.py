"""Helpers for lifecycle tests: find an agent's process, poll with a deadline."""

from __future__ import annotations

from local_helpers import run_processes

from tests.helpers.polling import poll as wait_for  # noqa: F401 - the tests import it from here


def agent_pid(run_id: str, agent_id: str) -> int:
    pids = [p.pid for p in run_processes(run_id) if p.environ().get("RUNNER_AGENT_ID") == agent_id]
    assert len(pids) == 1, pids
    return pids[0]


