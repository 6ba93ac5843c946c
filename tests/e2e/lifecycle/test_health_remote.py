"""Health monitoring of an agent server (``runner agent serve``, real process, real HTTP):
a server that stops answering ``/health`` (SIGSTOP) is detected and leaves the pool."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from lifecycle_helpers import wait_for
from local_helpers import PROGRAMS

from runner.agents.model import AgentInfo
from runner.errors import AgentFailure
from runner.execute.agents import AgentManager
from runner.protocol.client import HEALTH_TIMEOUT
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty


@pytest.fixture
def server():
    proc = subprocess.Popen([sys.executable, "-m", "runner", "agent", "serve", "--id", "srv", "--http", "127.0.0.1:0",
                             "--capability=echo", "--", sys.executable, str(PROGRAMS / "answer_json.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    assert line.startswith("listening http="), line
    url = line.split("=", 1)[1].strip()
    # `listening` comes before the agent has started: the test is about a server that stops
    # answering, not about one still starting, so wait until it says healthy.
    wait_for(lambda: _healthy(url), timeout=30)
    yield proc, url
    os.kill(proc.pid, signal.SIGCONT)
    proc.terminate()
    proc.communicate(timeout=30)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as reply:
            return reply.status == 200
    except OSError:  # 503 (HTTPError) while starting, or not reachable yet
        return False


def test_a_server_that_stops_answering_health_leaves_the_pool(ctx, server):
    proc, url = server
    pool = parse_pool("kind: pool\nname: p\nhealthInterval: 0.2s\n", "pool.yaml")
    events: list = []
    ctx.bus.subscribe(lambda e: events.append((time.monotonic(), e.name, e.detail)))
    manager = AgentManager(ctx, pool)
    info = AgentInfo(id="srv", name="srv", type="command", capabilities=("echo",), endpoint=url, source="direct")
    try:
        wait_for(lambda: manager.acquire(info).health().healthy, timeout=20)
        os.kill(proc.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: any(n == "agent_retired" for _, n, _ in events), timeout=HEALTH_TIMEOUT + 10)
        at = next(t for t, n, _ in events if n == "agent_unhealthy")
        assert at - frozen < 0.2 + HEALTH_TIMEOUT + 2.0
        with pytest.raises(AgentFailure, match="left the pool"):
            manager.acquire(info)
    finally:
        assert manager.stop_all() == []
