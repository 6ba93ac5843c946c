"""`runner agent serve --register etcd://...` against a real etcd and a real agent in a PTY."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from runner.agents.model import TaskRequest
from runner.context import EventBus
from runner.protocol.connect import connect
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


def test_registration_turns_healthy_when_the_agent_is_ready_not_at_the_next_poll(
        etcd_server: EtcdServer, prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The server publishes its health on the agent's state change: with the periodic check
    pushed out to an hour, the record still turns healthy as soon as the agent is ready."""
    import io
    import threading

    from runner.protocol import serve as serve_module
    from runner.protocol.registration import RegisterOptions
    from runner.registries.etcd_client import EtcdClient
    from runner.spec.models import AgentDef
    from tests.helpers.etcd import ANSWER_JSON

    monkeypatch.setattr(serve_module, "HEALTH_POLL", 3600.0)
    definition = AgentDef(type="command", command=(sys.executable, str(ANSWER_JSON)), workdir=str(tmp_path))
    opts = serve_module.ServeOptions(
        definition=definition, agent_id="h1", http="127.0.0.1:0",
        register=RegisterOptions(endpoints=etcd_server.url, prefix=prefix, ttl=5))
    stop, out = threading.Event(), io.StringIO()
    server = threading.Thread(target=serve_module.serve, args=(opts, {}, out, stop), daemon=True)
    server.start()
    client = EtcdClient(etcd_server.url)
    try:
        def status() -> dict:
            _, kvs = client.range_prefix(prefix + "h1")
            return json.loads(kvs[0][1]).get("status", {}) if kvs else {}

        wait_for(lambda: status().get("healthy") is True, timeout=20, what="h1 published healthy")
    finally:
        stop.set()
        server.join(10)
        client.close()
    assert not server.is_alive()
