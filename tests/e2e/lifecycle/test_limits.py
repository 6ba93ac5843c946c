"""Limits with real processes: a hung task is killed at its inactivity limit (a hang), an
agent over its maximum lifetime or idle timeout is stopped."""

from __future__ import annotations

import sys
import time

import pytest
from lifecycle_helpers import agent_pid, wait_for
from local_helpers import PROGRAMS, run_processes

from runner.api import apply
from runner.execute.agents import AgentManager
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

HANG = """
name: hang
steps:
  - id: hang
    agents: {capabilities: [hang], min: 1}
    task: "anything"
    inactivity: 0.5s
"""


def test_a_hung_task_is_killed_at_its_inactivity_limit_and_classified_as_a_hang(ctx):
    pool = parse_pool(f"""kind: pool
name: p
agents:
  - id: h1
    command: [{sys.executable}, {PROGRAMS / 'hang.py'}]
    capabilities: [hang]
""", "pool.yaml")
    pids: list[int] = []
    ctx.bus.subscribe(lambda e: pids.extend(p.pid for p in run_processes(ctx.run_id)) if e.name == "agent_busy" else None)
    started = time.monotonic()
    outcome = apply(parse_pattern(HANG, "hang.yaml"), pool, {}, ctx=ctx)
    took = time.monotonic() - started
    assert outcome.exit_code == 1
    attempt = outcome.result["steps"][0]["attempts"][0]
    assert attempt["errorKind"] == "hang"
    assert 0.5 <= attempt["durationMs"] / 1000 < 2.0
    assert took < 5
    assert run_processes(ctx.run_id) == []  # the process group was killed


def repl_pool(resources: str):
    return parse_pool(f"""kind: pool
name: p
healthInterval: 10s
agents:
  - id: r1
    command: [{sys.executable}, {PROGRAMS / 'repl.py'}]
    mode: long-lived
    readyPattern: "agent> $"
    resources: {resources}
""", "pool.yaml")


@pytest.mark.parametrize(("resources", "event"), [
    ("{timeout: 0.4s}", "agent_lifetime_exceeded"),
    ("{idleTimeout: 0.4s}", "agent_idle_timeout"),
])
def test_an_agent_over_its_lifetime_or_idle_timeout_is_stopped_and_restarted_when_needed(ctx, resources, event):
    pool = repl_pool(resources)
    events: list = []
    ctx.bus.subscribe(lambda e: events.append((time.monotonic(), e.name)))
    manager = AgentManager(ctx, pool)
    info = next(iter(_infos(ctx, pool)))
    try:
        first = manager.acquire(info)
        ready_at = time.monotonic()
        pid = agent_pid(ctx.run_id, "r1")
        wait_for(lambda: first.state.value == "stopped", timeout=3)
        at = next(t for t, n in events if n == event)
        assert 0.4 <= at - ready_at < 0.4 + 0.4  # within a quarter of the limit (plus slack)
        assert manager.handle("r1") is None
        wait_for(lambda: not run_processes(ctx.run_id))
        second = manager.acquire(info)  # needed again: a fresh agent
        assert second is not first and agent_pid(ctx.run_id, "r1") != pid
    finally:
        assert manager.stop_all() == []


def _infos(ctx, pool):
    from runner.plan.compile import discover

    return [a for a in discover(ctx, pool) if a.id == "r1"]
