"""Health monitoring of a container agent (real Docker engine): a paused container stops
answering ``/health``; the monitor detects it and, with autoRestart, replaces the container."""

from __future__ import annotations

import time

import pytest
from docker_helpers import base_image, dctx, docker, engine, inspect, run_containers  # noqa: F401 - fixtures
from lifecycle_helpers import wait_for

from runner.execute.agents import AgentManager
from runner.plan.compile import discover
from runner.protocol.client import HEALTH_TIMEOUT
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.docker

ECHO = "import sys; print('echo:' + sys.stdin.read().strip())"


def test_a_paused_container_is_detected_and_replaced(dctx, base_image):  # noqa: F811 - fixtures
    pool = parse_pool(f"""kind: pool
name: dk
healthInterval: 0.3s
autoRestart: true
runtimes: [{{type: docker, image: "{base_image}", stop_timeout: 1}}]
agents:
  - {{id: d1, command: [python3, -c, "{ECHO}"], capabilities: [echo]}}
""", "pool.yaml")
    events: list = []
    dctx.bus.subscribe(lambda e: events.append((time.monotonic(), e.name, e.detail)))
    manager = AgentManager(dctx, pool)
    info = next(a for a in discover(dctx, pool) if a.id == "d1")
    try:
        handle = manager.acquire(info, "docker")
        first = inspect(handle.container_name)["Id"]
        docker("pause", first)
        paused = time.monotonic()
        wait_for(lambda: any(n == "agent_restarted" for _, n, _ in events), timeout=HEALTH_TIMEOUT + 30)
        unhealthy = next(t for t, n, _ in events if n == "agent_unhealthy")
        assert unhealthy - paused < 0.3 + HEALTH_TIMEOUT + 2.0
        fresh = manager.handle("d1")
        assert fresh is not handle and fresh.health().healthy
        assert run_containers(dctx.run_id) == [fresh.container_name]
        assert inspect(fresh.container_name)["Id"] != first  # a new container, the paused one is gone
    finally:
        assert manager.stop_all() == []
    assert run_containers(dctx.run_id) == []
