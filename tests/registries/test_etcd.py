"""The etcd registry and registration against a real etcd: register, list, filter, watch."""

from __future__ import annotations

import json
import threading

import pytest

from runner.registries.etcd_client import EtcdClient
from runner.registries.etcd_registration import EtcdRegistration
from tests.helpers.etcd import EtcdServer, agent_info, make_registry, register_agents, wait_for

pytestmark = pytest.mark.etcd


def test_registered_agents_are_listed_with_their_metadata(etcd_server: EtcdServer, prefix: str) -> None:
    info = agent_info("rev-1", "http://127.0.0.1:9001", ["review", "python"], name="Reviewer", type="claude",
                      expertise={"python": 0.9}, zone="eu")  # fmt: skip
    reg = EtcdRegistration(etcd_server.url, prefix, info, ttl=5).start()
    registry = make_registry(etcd_server.url, prefix)
    try:
        (agent,) = registry.agents()
        assert (agent.id, agent.name, agent.type, agent.endpoint) == (
            "rev-1",
            "Reviewer",
            "claude",
            info.endpoint,
        )
        assert agent.capabilities == ("review", "python")
        assert agent.expertise == {"python": 0.9}
        assert agent.source == "etcd"
        assert agent.metadata["zone"] == "eu"
        assert agent.metadata["status"]["healthy"] is True
    finally:
        registry.close()
        reg.stop()


def test_stored_value_layout(etcd_server: EtcdServer, prefix: str) -> None:
    """Other tools read these keys: the layout is a contract (docs/registries.md)."""
    reg = EtcdRegistration(etcd_server.url, prefix, agent_info("a1", "http://h:1", ["x"]), ttl=5).start()
    try:
        _, kvs = EtcdClient(etcd_server.url).range_prefix(prefix)
        ((key, raw),) = kvs
        value = json.loads(raw)
        assert key == prefix + "a1"
        assert set(value) == {"id", "name", "endpoint", "metadata", "status"}
        assert value["metadata"] == {"type": "command", "capabilities": ["x"], "expertise": {}}
        assert set(value["status"]) == {"healthy", "message", "updatedAt"}
    finally:
        reg.stop()


def test_capability_filter_and_unhealthy_agents(etcd_server: EtcdServer, prefix: str) -> None:
    regs = register_agents(
        etcd_server.url,
        [
            ("a1", "http://h:1", ["review"]),
            ("a2", "http://h:2", ["review", "go"]),
            ("a3", "http://h:3", ["go"]),
        ],
        prefix=prefix,
    )
    registry = make_registry(etcd_server.url, prefix)
    try:
        assert [a.id for a in registry.agents() if a.has(["go"])] == ["a2", "a3"]
        regs[2].set_health(False, "overloaded")
        wait_for(lambda: [a.id for a in registry.agents()] == ["a1", "a2"], what="a3 to be left out")
        (a3,) = [a for a in registry.all_agents() if a.id == "a3"]
        assert a3.metadata["status"]["message"] == "overloaded"
    finally:
        registry.close()
        for r in regs:
            r.stop()


def test_watch_sees_added_modified_deleted(etcd_server: EtcdServer, prefix: str) -> None:
    registry = make_registry(etcd_server.url, prefix)
    seen: list[tuple[str, str, bool]] = []
    changed = threading.Event()

    def listener(kind: str, agent) -> None:  # type: ignore[no-untyped-def]
        seen.append((kind, agent.id, agent.metadata["status"]["healthy"]))
        changed.set()

    registry.add_listener(listener)
    try:
        assert registry.agents() == []  # starts the watch
        reg = EtcdRegistration(etcd_server.url, prefix, agent_info("w1", "http://h:1"), ttl=5).start()
        lease = reg.lease
        wait_for(lambda: [a.id for a in registry.agents()] == ["w1"], what="w1 added")
        reg.set_health(False, "draining")
        wait_for(lambda: ("modified", "w1", False) in seen, what="w1 modified")
        assert reg.lease == lease  # health is updated in place, under the same lease
        reg.stop()  # revoke → delete, at once (well inside the 5 s TTL)
        wait_for(lambda: registry.all_agents() == [], timeout=2, what="w1 deleted")
        assert seen == [("added", "w1", True), ("modified", "w1", False), ("deleted", "w1", False)]
    finally:
        registry.close()


def test_graceful_stop_removes_the_key_at_once(etcd_server: EtcdServer, prefix: str) -> None:
    reg = EtcdRegistration(etcd_server.url, prefix, agent_info("g1", "http://h:1"), ttl=30).start()
    client = EtcdClient(etcd_server.url)
    assert [k for k, _ in client.range_prefix(prefix)[1]] == [prefix + "g1"]
    reg.stop()
    assert client.range_prefix(prefix)[1] == []  # no waiting: the revoke deleted it
    reg.set_health(False, "late")  # a stopped registration never writes a key without a lease
    assert client.range_prefix(prefix)[1] == []


def test_lost_lease_is_replaced_and_the_key_rewritten(etcd_server: EtcdServer, prefix: str) -> None:
    reg = EtcdRegistration(etcd_server.url, prefix, agent_info("l1", "http://h:1"), ttl=3).start()
    client = EtcdClient(etcd_server.url)
    try:
        old = reg.lease
        client.revoke(old)  # as if it had expired while the agent was cut off
        assert client.range_prefix(prefix)[1] == []
        wait_for(lambda: client.range_prefix(prefix)[1], timeout=5, what="re-registration")
        assert reg.lease not in (0, old)
    finally:
        reg.stop()


def test_close_stops_the_watch_thread(etcd_server: EtcdServer, prefix: str) -> None:
    registry = make_registry(etcd_server.url, prefix)
    registry.agents()
    thread = registry._thread
    assert thread is not None and thread.is_alive()
    registry.close()
    assert not thread.is_alive()
