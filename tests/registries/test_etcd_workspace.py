"""The issue's "done when" on agents found through a real etcd: three `runner agent serve
--register` fixers, a pool with only an etcd registry; their workspaces travel over the agent
protocol as for static endpoints (tests/protocol/test_workspace_remote_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import fingerprint
from remote_bestof import STYLES, assert_done_when, best_of_n, fixers, user_repo

from runner.registries.etcd_client import EtcdClient
from tests.helpers.etcd import EtcdServer, wait_for

pytestmark = [pytest.mark.etcd, pytest.mark.pty]


def _healthy(client: EtcdClient, prefix: str) -> bool:
    _, kvs = client.range_prefix(prefix)
    return sorted(k.removeprefix(prefix) for k, v in kvs if json.loads(v)["status"]["healthy"]) == sorted(STYLES)


def test_best_of_n_done_when_on_agents_found_in_etcd(tmp_path: Path, etcd_server: EtcdServer, prefix: str) -> None:
    repo = user_repo(tmp_path)
    before = fingerprint(repo)
    with fixers(tmp_path, extra=("--register", etcd_server.url, "--register-prefix", prefix)) as servers:
        client = EtcdClient(etcd_server.url)
        try:
            wait_for(lambda: _healthy(client, prefix), timeout=20, what="three fixers healthy in etcd")
        finally:
            client.close()
        pool = tmp_path / "pool.json"
        pool.write_text(json.dumps({"kind": "pool", "name": "etcd-fixers", "registries": [
            {"type": "etcd", "endpoints": [etcd_server.url], "prefix": prefix, "timeout": "2s"}]}))
        proc, result = best_of_n(tmp_path, repo, pool)
        assert_done_when(tmp_path, repo, before, proc, result, servers)
    assert {a["agentId"] for a in result["steps"][0]["attempts"]} == set(STYLES)
