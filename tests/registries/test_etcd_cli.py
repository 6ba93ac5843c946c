"""``runner agents list`` against a real etcd, run as the real CLI (exit codes included)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.etcd import EtcdServer, free_port, register_agents

pytestmark = pytest.mark.etcd


def runner(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def three(etcd_server: EtcdServer, prefix: str):  # type: ignore[no-untyped-def]
    regs = register_agents(
        etcd_server.url,
        [("a1", "http://127.0.0.1:9001", ["review"]), ("a2", "http://127.0.0.1:9002", ["review", "go"]),
         ("a3", "http://127.0.0.1:9003", ["go"])],
        prefix=prefix,
    )  # fmt: skip
    regs[2].set_health(False, "overloaded")
    yield
    for r in regs:
        r.stop()


def test_list_from_etcd_url(etcd_server: EtcdServer, prefix: str, three: None) -> None:
    url = etcd_server.url.replace("http://", "etcd://")
    done = runner("agents", "list", "--etcd", url, "--prefix", prefix)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "ENDPOINT", "CAPABILITIES", "HEALTHY", "SOURCE"]
    assert lines[1].split() == ["a1", "a1", "command", "http://127.0.0.1:9001", "review", "yes", "etcd"]
    assert lines[2].split()[4:6] == ["review,go", "yes"]
    assert lines[3].split()[5:] == ["no", "(overloaded)", "etcd"]


def test_capability_filter(etcd_server: EtcdServer, prefix: str, three: None) -> None:
    done = runner(
        "agents", "list", "--etcd", etcd_server.url, "--prefix", prefix, "--capability", "go", "--json"
    )
    assert done.returncode == 0, done.stderr
    agents = json.loads(done.stdout)
    assert [(a["id"], a["status"]["healthy"]) for a in agents] == [("a2", True), ("a3", False)]
    both = runner("agents", "list", "--etcd", etcd_server.url, "--prefix", prefix,
                  "--capability", "go", "--capability", "review")  # fmt: skip
    assert [line.split()[0] for line in both.stdout.splitlines()[1:]] == ["a2"]


def test_list_from_a_pool_with_an_etcd_registry(etcd_server: EtcdServer, prefix: str, three: None,
                                                tmp_path: Path) -> None:  # fmt: skip
    pool = tmp_path / "pool.yaml"
    pool.write_text(
        "name: remote\n"
        "agents:\n"
        "  - {id: local-1, name: local, type: command, command: [cat], capabilities: [review]}\n"
        f"registries:\n  - {{type: etcd, endpoints: ['{etcd_server.url}'], prefix: '{prefix}', timeout: 2s}}\n"
    )
    done = runner("agents", "list", "--pool", str(pool), "--capability", "review")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert [(r[0], r[-1]) for r in rows] == [("a1", "etcd"), ("a2", "etcd"), ("local-1", "static")]


def test_etcd_down_exits_3_naming_the_endpoint(prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = runner("agents", "list", "--etcd", url, "--timeout", "1")
    assert done.returncode == 3
    assert done.stderr.startswith(f"error: etcd unreachable at {url}")
    assert time.monotonic() - started < 10


def test_no_source_is_a_usage_error() -> None:
    done = runner("agents", "list")
    assert (done.returncode, done.stderr.strip()) == (2, "error: agents list: give --pool POOL or --etcd URL")
