"""The real Claude Code CLI in agent-claude, with no credentials, reports that it needs a login."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from docker_helpers import dctx, devents, engine  # noqa: F401 - fixtures

from runner.agents.model import AgentInfo, TaskRequest
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.images.build import build_images
from runner.runtimes.docker import DockerRuntime
from runner.spec.models import AgentDef

pytestmark = [pytest.mark.docker, pytest.mark.cli]


@pytest.fixture(scope="module")
def claude_image(engine):  # noqa: F811
    """agent-claude (first build ~1-2 min: node + the CLI from npm; then cached)."""
    return build_images(["agent-claude"], client=engine)[-1].tag


@pytest.fixture
def claude_rt(dctx, claude_image):  # noqa: F811
    rt = DockerRuntime(dctx, {"images": {"claude": claude_image}, "stop_timeout": 2})
    yield rt
    assert rt.cleanup() == []


def claude(rt: DockerRuntime, mode: str):
    d = AgentDef(type="claude", mode=mode, options={"max_retries": 0, "start_timeout": 60})
    return rt.spawn(AgentInfo(id=f"claude-{mode}", name="claude", type="claude", definition=d))


@pytest.mark.timeout(900)
def test_interactive_claude_needs_login(claude_rt, devents):
    h = claude(claude_rt, "long-lived")
    with pytest.raises(LoginRequired) as exc:
        h.start()
    login = [e for e in devents if e.name == "login_required"]
    assert len(login) == 1 and login[0].agent_id == h.id
    assert "Not logged in" in login[0].detail and "Not logged in" in exc.value.instruction


@pytest.mark.timeout(900)
def test_per_task_claude_needs_login(claude_rt, devents):
    h = claude(claude_rt, "per-task")
    h.start()
    with pytest.raises(AgentFailure) as exc:
        h.execute(TaskRequest(task_id="t1", description="say hi", timeout=60))
    assert exc.value.kind is FailureKind.LOGIN
    login = [e for e in devents if e.name == "login_required"]
    assert login and "Not logged in" in login[0].detail
