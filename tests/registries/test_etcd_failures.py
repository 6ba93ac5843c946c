"""Failure behaviour against a real etcd: dead agents, a restarted etcd, an unreachable etcd."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.errors import InfrastructureError
from runner.registries.etcd_client import EtcdClient
from runner.registries.etcd_registration import EtcdRegistration
from tests.helpers.etcd import EtcdServer, agent_info, free_port, make_registry, wait_for

pytestmark = pytest.mark.etcd

AGENT = """
import sys, time
from runner.agents.model import AgentInfo
from runner.registries.etcd_registration import EtcdRegistration
url, prefix, ttl = sys.argv[1], sys.argv[2], int(sys.argv[3])
info = AgentInfo(id="victim", name="victim", type="command", endpoint="http://127.0.0.1:1")
EtcdRegistration(url, prefix, info, ttl=ttl).start()
print("registered", flush=True)
time.sleep(600)
"""


def test_agent_killed_with_sigkill_disappears_after_its_ttl(etcd_server: EtcdServer, prefix: str) -> None:
    registry = make_registry(etcd_server.url, prefix)
    proc = subprocess.Popen(
        [sys.executable, "-c", AGENT, etcd_server.url, prefix, "2"], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"registered\n"
        assert [a.id for a in registry.agents()] == ["victim"]
        time.sleep(2.5)  # longer than the TTL: the agent's own refreshes keep it registered
        assert [a.id for a in registry.agents()] == ["victim"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        killed = time.monotonic()
        wait_for(lambda: registry.all_agents() == [], timeout=6, what="the dead agent's key to expire")
        # etcd checks expiry every ~0.5 s; no earlier than the refresh made before the kill allows
        assert time.monotonic() - killed < 4.5
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        registry.close()


def test_etcd_restart_watch_recovers_and_agents_stay_registered(tmp_path: Path, prefix: str) -> None:
    etcd = EtcdServer(tmp_path, name="restart").start()
    registry = make_registry(etcd.url, prefix)
    reg = EtcdRegistration(etcd.url, prefix, agent_info("r1", "http://h:1"), ttl=2, timeout=1.0)
    try:
        reg.start()
        assert [a.id for a in registry.agents()] == ["r1"]
        etcd.kill()
        wait_for(lambda: _raises(registry.agents), timeout=5, what="the registry to report etcd down")
        time.sleep(2.5)  # longer than the TTL while etcd is down
        etcd.start()
        # The registration refreshes (or re-creates) its lease and the watch re-lists.
        wait_for(lambda: not _raises(registry.agents), timeout=10, what="the registry to recover")
        wait_for(lambda: [a.id for a in registry.agents()] == ["r1"], timeout=10, what="r1 after restart")
        # The re-established watch sees new changes, and r1 keeps its key alive beyond its TTL.
        reg.set_health(False, "after restart")
        wait_for(lambda: [a.id for a in registry.agents()] == [], timeout=5, what="r1's new health")
        time.sleep(2.5)
        assert [a.id for a in registry.all_agents()] == ["r1"]
    finally:
        registry.close()
        reg.stop()
        etcd.kill()


def _raises(fn) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn()
    except InfrastructureError:
        return True
    return False


def test_etcd_down_is_an_infrastructure_error_naming_the_endpoint(prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    registry = make_registry(url, prefix, timeout="1s")
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match=f"etcd unreachable at {url}"):
        registry.agents()
    assert time.monotonic() - started < 3
    with pytest.raises(InfrastructureError, match=url):
        EtcdRegistration(url, prefix, agent_info("x", "http://h:1")).start()


def test_etcd_that_never_answers_fails_within_the_timeout(prefix: str) -> None:
    """A peer that accepts connections but never replies (a hung etcd) must not hang us."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        registry = make_registry(url, prefix, timeout="1s")
        started = time.monotonic()
        with pytest.raises(InfrastructureError, match=f"{url}: timed out"):
            registry.agents()
        assert time.monotonic() - started < 4


def test_second_endpoint_is_used_when_the_first_is_down(etcd_server: EtcdServer, prefix: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    reg = EtcdRegistration(f"{dead},{etcd_server.url}", prefix, agent_info("f1", "http://h:1"), ttl=5).start()
    registry = make_registry(dead, prefix, endpoints=[dead, etcd_server.url])
    try:
        assert [a.id for a in registry.agents()] == ["f1"]
        assert EtcdClient([dead, etcd_server.url]).range_prefix(prefix)[1]
    finally:
        registry.close()
        reg.stop()


def test_etcd_that_lost_its_data_gets_the_agents_back(tmp_path: Path, prefix: str) -> None:
    """A restart from an empty data dir: the lease is unknown, the agent registers again."""
    etcd = EtcdServer(tmp_path, name="wiped").start()
    registry = make_registry(etcd.url, prefix)
    reg = EtcdRegistration(etcd.url, prefix, agent_info("w1", "http://h:1"), ttl=2, timeout=1.0)
    try:
        reg.start()
        old_lease = reg.lease
        assert [a.id for a in registry.agents()] == ["w1"]
        etcd.kill()
        shutil.rmtree(etcd.data_dir)
        etcd.start()
        wait_for(lambda: reg.lease != old_lease, timeout=10, what="a new lease")
        wait_for(lambda: _ids(registry) == ["w1"], timeout=10, what="w1 in the re-listed view")
    finally:
        registry.close()
        reg.stop()
        etcd.kill()


def _ids(registry) -> list[str] | None:  # type: ignore[no-untyped-def]
    try:
        return [a.id for a in registry.agents()]
    except InfrastructureError:
        return None
