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
