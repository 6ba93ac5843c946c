"""Helpers for the real-CLI tests: a run context in a temp dir, definitions, running a task."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import RunContext
from runner.runtimes.local import LocalRuntime
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
    """Through the local runtime: spawn, start, execute one task, stop (removes the home)."""
    with local_agent(cli, d, ctx, agent_id) as handle:
        return handle.execute(replace(request, timeout=request.timeout or timeout))


@contextlib.contextmanager
def local_agent(cli: str, d: AgentDef, ctx: RunContext, agent_id: str) -> Iterator[Any]:
    """A started LocalHandle for ``d``; stopped (and the runtime cleaned up) afterwards."""
    runtime = LocalRuntime(ctx, {"grace": 1.0})
    handle = runtime.spawn(AgentInfo(id=agent_id, name=agent_id, type=cli, definition=d))
    try:
        handle.start()
        yield handle
    finally:
        handle.stop()
        left = runtime.cleanup()
        assert not left, left


def leftovers(agent_id: str, ctx: RunContext) -> list[int]:
    """Pids of processes still carrying ``RUNNER_AGENT_ID=agent_id`` of ``ctx``'s run (another
    run of the same test elsewhere on the machine is not ours)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
            if (env.get("RUNNER_AGENT_ID") == agent_id and env.get("RUNNER_RUN_ID") == ctx.run_id
                    and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found
