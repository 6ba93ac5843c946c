"""A warm pool whose pool has an etcd registry, against a real etcd: the agents register
there, a run finds them (zero spawns), and SIGTERM to ``runner pool up`` leaves no key and
no process behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lifecycle_helpers import wait_for
from test_warm_pool import ANSWER, PATTERN, runner, warm_processes

from runner.registries.etcd_client import EtcdClient
from tests.helpers.etcd import EtcdServer

pytestmark = [pytest.mark.etcd, pytest.mark.pty]


@pytest.fixture(scope="module")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    with EtcdServer(Path(tmp_path_factory.mktemp("etcd"))) as server:
        yield server


def keys(client: EtcdClient, prefix: str) -> list[str]:
    return [k for k, _ in client.range_prefix(prefix)[1]]


def healthy(client: EtcdClient, prefix: str) -> int:
    """How many registered agents say they are healthy (a server registers first, then copies
    its /health into its record: until then a run rightly passes it over)."""
    records = [json.loads(v) for _, v in client.range_prefix(prefix)[1]]
    return sum(1 for r in records if (r.get("status") or {}).get("healthy", True))


def test_a_warm_pool_registered_in_etcd_serves_a_run_and_sigterm_leaves_no_key(etcd_server, tmp_path):
    prefix = f"/runner-test/{uuid.uuid4().hex[:8]}/agents/"
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: wpe
registries:
  - {{type: etcd, endpoints: ["{etcd_server.url}"], prefix: "{prefix}"}}
templates:
  - name: echo
    command: [{sys.executable}, {ANSWER}]
    capabilities: [echo]
warmPool: {{echo: 2}}
""")
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    client = EtcdClient(etcd_server.url)
    supervisor = subprocess.Popen([sys.executable, "-m", "runner", "pool", "up", "pool.yaml", "--interval", "0.1"],
                                  cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(keys(client, prefix)) == 2 and healthy(client, prefix) == 2, timeout=30)
        status = wait_for(lambda: (s := runner(tmp_path, "pool", "status", "pool.yaml")).stdout.count(" ready ") == 2
                          and s, timeout=30)
        assert "registry etcd" in status.stdout
        applied = runner(tmp_path, "apply", "pattern.yaml", "--pool", "pool.yaml", "-o", "out.json", "-q")
        assert applied.returncode == 0, applied.stderr
        result = json.loads((tmp_path / "out.json").read_text())
        assert sorted((a["id"], a["source"], a["spawned"]) for a in result["agents"]) == [
            ("wpe-echo-1", "etcd", False), ("wpe-echo-2", "etcd", False)]
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0, supervisor.stderr.read() if supervisor.stderr else ""
        assert keys(client, prefix) == []
        assert warm_processes("wpe") == []
        assert not (tmp_path / ".runner" / "pools" / "wpe.json").exists()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.communicate()
        client.close()
