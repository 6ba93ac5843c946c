"""The pool's login policy with real processes: ``credentials`` restarts the agent with the
pool's credential references and the task succeeds; ``notify`` prints the instruction once
and, without a terminal, fails at once (exit 3) instead of waiting for a human."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

NEEDS_KEY = Path(__file__).parent / "programs" / "needs_key.py"
PATTERN = """
name: login
steps:
  - id: s
    agents: {capabilities: [x], min: 1}
    task: "go"
"""


def pool_text(login: str) -> str:
    return f"""kind: pool
name: p
runtimes: [{{type: local, loginIdle: 0.2}}]
agents:
  - id: a1
    command: [{sys.executable}, {NEEDS_KEY}]
    capabilities: [x]
login: {login}
"""


def run(tmp_path: Path, login: str, environ: dict[str, str] | None = None):
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ={**os.environ, **(environ or {})})
    return apply(parse_pattern(PATTERN, "p.yaml"), parse_pool(pool_text(login), "pool.yaml"), {}, ctx=ctx)


def test_credentials_policy_restarts_the_agent_with_the_pools_credentials(tmp_path):
    outcome = run(tmp_path, "{onRequired: credentials, credentials: {FAKE_KEY: {env: RUNNER_TEST_KEY}}}",
                  {"RUNNER_TEST_KEY": "k3y-secret"})
    assert outcome.exit_code == 0, outcome.result["error"]
    attempts = outcome.result["steps"][0]["attempts"]
    assert [(a["status"], a["errorKind"]) for a in attempts] == [("failed", "login"), ("ok", None)]
    assert attempts[1]["result"] == "key k3.."


def test_credentials_policy_with_the_variable_unset_fails_as_login(tmp_path, capsys):
    outcome = run(tmp_path, "{onRequired: credentials, credentials: {FAKE_KEY: {env: RUNNER_UNSET_KEY_X}}}")
    assert outcome.exit_code == 3
    assert "unset: RUNNER_UNSET_KEY_X" in capsys.readouterr().err


def test_notify_in_ci_prints_the_instruction_once_and_exits_3_without_waiting(tmp_path):
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    (tmp_path / "pool.yaml").write_text(pool_text("{onRequired: notify}"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "runner", "apply", "pattern.yaml", "--pool", "pool.yaml", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "CI": "true"})
    assert proc.returncode == 3, proc.stderr
    assert time.monotonic() - started < 15
    assert proc.stderr.count("agent a1 needs a login: ") == 1
    assert "https://login.example.com/device?code=ABCD-1234" in proc.stderr


def test_notify_at_a_terminal_asks_once_then_retries(tmp_path):
    from runner.errors import AgentFailure, FailureKind
    from runner.execute.agents import AgentManager
    from runner.execute.login import LoginHandler
    from runner.plan.compile import discover

    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state")
    pool = parse_pool(pool_text("{onRequired: notify}"), "pool.yaml")
    asked: list[str] = []
    err = io.StringIO()
    handler = LoginHandler(AgentManager(ctx, pool), err=err, ask=asked.append, is_interactive=lambda: True)
    info = next(a for a in discover(ctx, pool) if a.id == "a1")
    failure = AgentFailure(FailureKind.LOGIN, "login required", agent_id="a1", output="open https://x.example/login")
    assert handler.handle(info, failure) is info
    assert handler.handle(info, failure) is None  # once per agent
    assert len(asked) == 1 and err.getvalue().count("https://x.example/login") == 1
