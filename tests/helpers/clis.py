"""Helpers for the real-CLI tests: a run context in a temp dir, definitions, running a task."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types import load_type
from runner.agents.types.drive import CliSession
from runner.context import RunContext
from runner.spec.models import AgentDef

KEYS = {"claude": "anthropicKey", "codex": "openaiKey", "gemini": "googleKey", "aider": "openaiKey"}


def make_ctx(tmp: Path, environ: dict[str, str] | None = None) -> RunContext:
    work = tmp / "work"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    return RunContext(workdir=work, state_dir=tmp / "state", environ=environ or {})


def definition(cli: str, mock_url: str | None, *, mode: str = "per-task", approval: str = "standard",
               with_key: bool = True) -> AgentDef:
    options: dict = {"approval": approval}
    if mock_url:
        options["base_url"] = mock_url
        options["model"] = {"claude": "claude-mock", "aider": "openai/mock-model"}.get(cli, "mock-model")
    if cli == "claude":
        options["max_retries"] = 0
    creds = {KEYS[cli]: "RUNNER_TEST_KEY"} if with_key else {}
    return AgentDef(type=cli, mode=mode, options=options, credentials=creds)


def run_task(cli: str, d: AgentDef, ctx: RunContext, request: TaskRequest, agent_id: str,
             timeout: float = 60) -> TaskResult:
    """Per-task: launch in a PTY, wait for exit, parse; the seeded home is removed after."""
    t = load_type(cli)
    spec = t.launch(d, request, ctx, agent_id)
    session = CliSession(spec)
    try:
        status = session.wait_exit(timeout)
    finally:
        session.close()
        t.cleanup(d, ctx, agent_id)
    return t.parse_result(d, request, session.text(), status)
