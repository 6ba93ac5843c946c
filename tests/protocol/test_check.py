"""`runner agents check POOL` against real agent servers (one HTTP, one gRPC, one gone)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from protocol_helpers import REPO, served

pytestmark = pytest.mark.pty


def _check(pool, env=None):  # type: ignore[no-untyped-def]
    base = {k: v for k, v in os.environ.items() if k != "MY_TOKEN"}
    return subprocess.run([sys.executable, "-m", "runner", "agents", "check", str(pool)], cwd=REPO,
                          capture_output=True, text=True, env={**base, **(env or {})}, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_check_prints_a_table_and_exits_by_reachability(tmp_path):
    with served(token="tok-123") as server:
        (tmp_path / "token").write_text("tok-123\n")
        pool = tmp_path / "pool.yaml"
        pool.write_text(textwrap.dedent(f"""\
            name: remote
            auth: {{tokenFile: token}}
            agents:
              - id: web
                endpoint: {server.urls['http']}
                capabilities: [code]
              - id: rpc
                endpoint: {server.urls['grpc']}
                capabilities: [code]
            registries:
              - type: env
            """))
        gone = json.dumps([{"id": "gone", "endpoint": f"http://127.0.0.1:{_free_port()}"}])
        ok = _check(pool, {"RUNNER_LOCAL_AGENTS": "[]"})
        bad = _check(pool, {"RUNNER_LOCAL_AGENTS": gone})
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].split() == ["ID", "ENDPOINT", "PROTOCOL", "HEALTHY", "LATENCY", "MESSAGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["web"][1:4] == [server.urls["http"], "http", "yes"]
    assert rows["rpc"][1:4] == [server.urls["grpc"], "grpc", "yes"]
    assert "tok-123" not in ok.stdout + ok.stderr
    assert bad.returncode == 3, bad.stdout + bad.stderr
    gone_row = next(line for line in bad.stdout.splitlines() if line.startswith("gone"))
    assert " no " in gone_row and "cannot connect" in gone_row


def test_check_with_a_wrong_token_reports_it(tmp_path):
    with served(token="tok-123") as server:
        pool = tmp_path / "pool.yaml"
        pool.write_text(f"name: p\nauth: {{tokenEnv: MY_TOKEN}}\nagents:\n"
                        f"  - id: web\n    endpoint: {server.urls['http']}\n")
        result = _check(pool, {"MY_TOKEN": "nope"})
        missing = _check(pool)  # MY_TOKEN not set at all
    assert result.returncode == 3
    assert "refused the bearer token" in result.stdout
    assert "nope" not in result.stdout
    assert missing.returncode == 2
    assert "environment variable MY_TOKEN (tokenEnv) is not set" in missing.stderr
