"""`runner agent serve --register etcd://...` against a real etcd and a real agent in a PTY."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from runner.agents.lifecycle import EventBus
from runner.agents.model import TaskRequest
from runner.protocol.client import connect
from tests.helpers.etcd import EtcdServer, free_port, make_registry, served_agent, wait_for

pytestmark = [pytest.mark.etcd, pytest.mark.pty]


def test_served_agent_is_found_through_etcd_and_runs_tasks(etcd_server: EtcdServer, prefix: str) -> None:
    registry = make_registry(etcd_server.url, prefix)
    url = etcd_server.url.replace("http://", "etcd://")
    try:
        with served_agent(url, "s1", ["review"], prefix=prefix, ttl=5) as server:
            # Registered before `listening`; healthy once the agent in its PTY is ready.
            (info,) = wait_for(registry.agents, what="s1 registered and healthy")
            assert (info.id, info.endpoint, info.capabilities) == ("s1", server.urls["http"], ("review",))
            assert info.metadata["protocols"] == {"http": server.urls["http"]}
            handle = connect(info, EventBus(), None)
            try:
                handle.start()
                result = handle.execute(TaskRequest(task_id="t1", description="hi", timeout=10))
                assert result.result == "echo: hi"
            finally:
                handle.stop()
            server.proc.send_signal(signal.SIGTERM)
            # Deregistered on a graceful stop: gone long before the 5 s TTL could run out.
            started = time.monotonic()
            wait_for(lambda: registry.all_agents() == [], timeout=5, what="s1 deregistered")
            assert time.monotonic() - started < 2.5
            assert server.proc.wait(10) == 0
    finally:
        registry.close()


def test_killed_server_disappears_after_its_ttl(etcd_server: EtcdServer, prefix: str) -> None:
    registry = make_registry(etcd_server.url, prefix)
    try:
        with served_agent(etcd_server.url, "k1", prefix=prefix, ttl=2) as server:
            wait_for(registry.agents, what="k1 registered and healthy")
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(5)
            killed = time.monotonic()
            wait_for(lambda: registry.all_agents() == [], timeout=6, what="k1's key to expire")
            assert time.monotonic() - killed < 4.5
    finally:
        registry.close()


def test_serve_with_etcd_down_exits_3(prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "runner", "agent", "serve", "--id", "d1", "--http", "127.0.0.1:0",
         "--register", url, "--", sys.executable, "-c", "pass"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"etcd unreachable at {url}" in done.stderr
    assert "listening" not in done.stdout
