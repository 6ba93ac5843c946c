"""`runner agent serve` as operators run it: options, token sources, usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from protocol_helpers import REPO, poll, serve_process

from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind

pytestmark = pytest.mark.pty
PEEK = ("import json, os; print(json.dumps({'result': os.environ.get('RUNNER_AGENT_TOKEN', 'unset'), "
        "'confidence': 1}))")


def test_token_from_env_guards_both_protocols_and_stays_out_of_the_agent(remote):
    command = f'{sys.executable} -c "{PEEK}"'
    with serve_process("--command", command, "--capability", "peek",
                       env={"RUNNER_AGENT_TOKEN": "env-secret"}) as server:
        for protocol in ("http", "grpc"):
            handle = remote(server.urls[protocol], token="env-secret")
            poll(lambda h=handle: h.health().healthy, what="a healthy server")
            handle.start()
            result = handle.execute(TaskRequest(task_id=f"t-{protocol}", description="x", timeout=10))
            assert result.result == "unset"  # the server's token is not the agent's business
            with pytest.raises(AgentFailure) as err:
                remote(server.urls[protocol]).start()
            assert err.value.kind == FailureKind.CONFIG
        assert handle.health_reply()["agent"]["capabilities"] == ["peek"]


def test_token_file(tmp_path, remote):
    token = tmp_path / "token"
    token.write_text("file-secret\n")
    with serve_process("--token-file", str(token), "--", sys.executable, "-c", PEEK) as server:
        handle = remote(server.urls["http"], token="file-secret")
        poll(lambda: handle.health().healthy, what="a healthy server")
        handle.start()


@pytest.mark.parametrize(("args", "message"), [
    (["--command", "true", "--", "true"], "either with --command or after `--`"),
    (["--drain-timeout", "soon", "--", "true"], "--drain-timeout: expected a duration such as 500ms, 30s, 5m or 1h"),
    (["--drain-timeout", "1000h", "--", "true"], "--drain-timeout: `1000h` is more than the maximum, 30 days"),
    (["--type", "comand", "--", "true"], "did you mean `command`?"),
    (["--token-file", "/nonexistent/token", "--", "true"], "--token-file /nonexistent/token: cannot read it"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    proc = subprocess.run([sys.executable, "-m", "runner", "agent", "serve", "--id", "x",
                           "--http", "127.0.0.1:0", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert proc.stdout == ""
