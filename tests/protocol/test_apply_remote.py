"""`runner apply` with a pattern whose agents are two agent servers (HTTP and gRPC) started here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from protocol_helpers import REPO, WORKER, poll, serve_process

pytestmark = pytest.mark.pty


def test_apply_runs_a_step_on_an_http_and_a_grpc_agent(tmp_path, remote):
    worker = ["--", *WORKER]
    env = {"RUNNER_AGENT_TOKEN": "apply-token"}
    with serve_process(*worker, env=env) as one, serve_process(*worker, env=env) as two:
        for url in (one.urls["http"], two.urls["grpc"]):
            probe = remote(url, token="apply-token")
            poll(lambda p=probe: p.health().healthy, what=f"{url} healthy")
        (tmp_path / "pattern.yaml").write_text(textwrap.dedent("""\
            kind: pattern
            name: remote-pair
            version: "1.0.0"
            description: Two remote agents answer the same question.
            inputs:
              question: {type: string, required: true}
            steps:
              - id: ask
                agents: {capabilities: [code], min: 2}
                task: "{{ inputs.question }}"
                timeout: 20s
                aggregation: {type: all}
            outputs:
              answers: "{{ steps.ask.output }}"
            """))
        (tmp_path / "pool.yaml").write_text(textwrap.dedent(f"""\
            kind: pool
            name: remote
            auth: {{tokenEnv: REMOTE_TOKEN}}
            agents:
              - id: over-http
                endpoint: {one.urls['http']}
                capabilities: [code]
              - id: over-grpc
                endpoint: {two.urls['grpc']}
                capabilities: [code]
            """))
        proc = subprocess.run(
            [sys.executable, "-m", "runner", "apply", str(tmp_path / "pattern.yaml"), "--pool",
             str(tmp_path / "pool.yaml"), "--input", "question=ping", "--output", str(tmp_path / "out.json"),
             "--state-dir", str(tmp_path / "state"), "--quiet"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
            env={**os.environ, "REMOTE_TOKEN": "apply-token"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    text = json.dumps(result)
    assert "over-http" in text and "over-grpc" in text
    assert "PING" in text
    assert "apply-token" not in text + proc.stdout + proc.stderr


def test_a_step_whose_agent_server_was_killed_is_retried_on_the_other(tmp_path, remote):
    worker = ["--", *WORKER]
    with serve_process(*worker) as dead, serve_process(*worker) as alive:
        probe = remote(alive.urls["grpc"])
        poll(lambda: probe.health().healthy, what="a healthy server")
        dead.proc.kill()
        dead.proc.wait(10)
        (tmp_path / "pattern.yaml").write_text(textwrap.dedent("""\
            kind: pattern
            name: survive
            version: "1.0.0"
            description: One agent answers; a dead one is skipped by the retry.
            steps:
              - id: ask
                agents: {capabilities: [code], min: 1, prefer: [dead]}
                task: "ping"
                timeout: 20s
                retry: {limit: 2, backoff: {initial: 0.01}}
            outputs:
              answer: "{{ steps.ask.output }}"
            """))
        (tmp_path / "pool.yaml").write_text(textwrap.dedent(f"""\
            kind: pool
            name: remote
            agents:
              - id: dead
                endpoint: {dead.urls['http']}
                capabilities: [code]
              - id: alive
                endpoint: {alive.urls['grpc']}
                capabilities: [code]
            """))
        proc = subprocess.run(
            [sys.executable, "-m", "runner", "apply", str(tmp_path / "pattern.yaml"), "--pool",
             str(tmp_path / "pool.yaml"), "--output", str(tmp_path / "out.json"),
             "--state-dir", str(tmp_path / "state"), "--quiet"],
            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "out.json").read_text()
    assert "PING" in text and "alive" in text
    attempts = [a for s in json.loads(text)["steps"] for a in s.get("attempts", [])]
    assert [(a["agentId"], a["errorKind"]) for a in attempts] == [("dead", "infrastructure"), ("alive", None)]
    assert "cannot connect" in attempts[0]["error"]
