"""`runner apply` with a pool that has only an etcd registry: the agents are found through etcd."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.etcd import EtcdServer, free_port, served_agent

pytestmark = [pytest.mark.etcd, pytest.mark.pty]

PATTERN = """\
kind: pattern
name: two-remote
version: "1.0.0"
description: Two agents found only through etcd answer the same task.
steps:
  - id: ask
    agents: {capabilities: [review], min: 2}
    task: "say hi"
    aggregation: {type: all}
outputs:
  answer: "{{ steps.ask.output }}"
"""


def apply(tmp_path: Path, etcd_url: str, prefix: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    (tmp_path / "pool.yaml").write_text(
        f"kind: pool\nname: remote\nregistries:\n"
        f"  - {{type: etcd, endpoints: ['{etcd_url}'], prefix: '{prefix}', timeout: 2s}}\n"
    )
    cmd = [sys.executable, "-m", "runner", "apply", str(tmp_path / "pattern.yaml"), "--pool",
           str(tmp_path / "pool.yaml"), "-o", str(tmp_path / "out.json"), "--state-dir", str(tmp_path / "state")]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_pattern_runs_on_two_servers_found_only_through_etcd(
    etcd_server: EtcdServer, prefix: str, tmp_path: Path
) -> None:
    with (
        served_agent(etcd_server.url, "s1", ["review"], prefix=prefix),
        served_agent(etcd_server.url, "s2", ["review"], prefix=prefix),
        served_agent(etcd_server.url, "other", ["go"], prefix=prefix),
    ):
        done = apply(tmp_path, etcd_server.url, prefix)
    assert done.returncode == 0, done.stderr
    (step,) = json.loads((tmp_path / "out.json").read_text())["steps"]
    assert sorted(step["agents"]) == ["s1", "s2"]
    assert sorted((a["agent"], a["result"]) for a in step["output"]) == [
        ("s1", "echo: say hi"),
        ("s2", "echo: say hi"),
    ]


def test_apply_with_etcd_down_exits_3(prefix: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = apply(tmp_path, url, prefix)
    assert done.returncode == 3, done.stderr
    assert f"etcd unreachable at {url}" in done.stderr
