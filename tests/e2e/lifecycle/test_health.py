"""Health monitoring with real processes in real PTYs: an unresponsive agent (SIGSTOP) is
detected within the interval and restarted, or leaves the pool without autoRestart."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from lifecycle_helpers import agent_pid, wait_for
from local_helpers import PROGRAMS, gone

from runner.agents.model import AgentInfo
from runner.api import apply
from runner.execute.agents import AgentManager
from runner.spec.models import AgentDef
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

REPL = f"[{sys.executable}, {PROGRAMS / 'repl.py'}]"


def pool(auto_restart: bool, interval: str = "0.2s", agents: int = 1):
    entries = "".join(f"""
  - id: r{i}
    command: {REPL}
    mode: long-lived
    readyPattern: "agent> $"
    capabilities: [echo]
""" for i in range(1, agents + 1))
    return parse_pool(f"kind: pool\nname: p\nhealthInterval: {interval}\nautoRestart: {str(auto_restart).lower()}\n"
                      f"agents:{entries}", "pool.yaml")


def repl_info(agent_id: str = "r1") -> AgentInfo:
    d = AgentDef(command=(sys.executable, str(PROGRAMS / "repl.py")), mode="long-lived", ready_pattern="agent> $")
    return AgentInfo(id=agent_id, name=agent_id, type="command", definition=d)


def test_a_stopped_process_is_detected_within_the_interval_and_restarted(ctx):
    events: list = []
    ctx.bus.subscribe(lambda e: events.append((time.monotonic(), e.name, e.detail)))
    manager = AgentManager(ctx, pool(auto_restart=True))
    try:
        handle = manager.acquire(repl_info())
        old = agent_pid(ctx.run_id, "r1")
        os.kill(old, signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_for(lambda: any(n == "agent_restarted" for _, n, _ in events))
        unhealthy = [(t, d) for t, n, d in events if n == "agent_unhealthy"]
        assert unhealthy and "stopped" in unhealthy[0][1]
        assert unhealthy[0][0] - stopped_at < 0.2 * 2 + 0.3  # within one interval (plus slack)
        assert gone(old)
        fresh = manager.handle("r1")
        assert fresh is not handle and fresh.state.value == "ready"
        assert agent_pid(ctx.run_id, "r1") != old
    finally:
        assert manager.stop_all() == []


def test_without_auto_restart_an_unhealthy_agent_leaves_the_pool(ctx):
    from runner.errors import AgentFailure, FailureKind

    events: list = []
    ctx.bus.subscribe(lambda e: events.append(e.name))
    manager = AgentManager(ctx, pool(auto_restart=False))
    try:
        manager.acquire(repl_info())
        pid = agent_pid(ctx.run_id, "r1")
        os.kill(pid, signal.SIGSTOP)
        wait_for(lambda: "agent_retired" in events)
        assert "agent_unhealthy" in events and "agent_restarted" not in events
        assert gone(pid)
        with pytest.raises(AgentFailure) as info:
            manager.acquire(repl_info())
        assert info.value.kind is FailureKind.INFRASTRUCTURE and "left the pool" in str(info.value)
    finally:
        assert manager.stop_all() == []


ECHO = """
name: echo
steps:
  - id: echo
    agents: {capabilities: [echo], min: 1}
    task: "hello"
    retry: {limit: 1, backoff: {initial: 0.01}}
outputs:
  said: "{{ steps.echo.output }}"
"""


def test_the_in_flight_task_of_a_restarted_agent_is_retried_as_a_crash(ctx):
    """The agent freezes as soon as it is ready (before its task): the monitor restarts it,
    the task fails as a crash and the retry, on the same (fresh) agent, answers."""
    frozen: list[int] = []

    def freeze(event):
        if event.name == "agent_ready" and not frozen:
            frozen.append(agent_pid(ctx.run_id, event.agent_id))
            os.kill(frozen[0], signal.SIGSTOP)

    ctx.bus.subscribe(freeze)
    outcome = apply(parse_pattern(ECHO, "echo.yaml"), pool(auto_restart=True), {}, ctx=ctx)
    assert outcome.exit_code == 0, outcome.result["error"]
    attempts = outcome.result["steps"][0]["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "ok"]
    assert attempts[0]["errorKind"] == "crash" and "restarted: unhealthy" in attempts[0]["error"]
    assert [a["agentId"] for a in attempts] == ["r1", "r1"]
    assert outcome.result["outputs"] == {"said": "HELLO"}
    assert gone(frozen[0])


def test_without_auto_restart_the_retry_goes_to_another_agent(ctx):
    frozen: list[int] = []

    def freeze(event):
        if event.name == "agent_ready" and event.agent_id == "r1" and not frozen:
            frozen.append(agent_pid(ctx.run_id, "r1"))
            os.kill(frozen[0], signal.SIGSTOP)

    ctx.bus.subscribe(freeze)
    outcome = apply(parse_pattern(ECHO, "echo.yaml"), pool(auto_restart=False, agents=2), {}, ctx=ctx)
    assert outcome.exit_code == 0, outcome.result["error"]
    attempts = outcome.result["steps"][0]["attempts"]
    assert [(a["agentId"], a["status"]) for a in attempts] == [("r1", "failed"), ("r2", "ok")]
    assert "left the pool" in attempts[0]["error"]
    assert gone(frozen[0])
