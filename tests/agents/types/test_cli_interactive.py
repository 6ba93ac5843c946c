"""The four real CLIs in their interactive TUIs, through the local runtime: no credentials in a
fresh seeded HOME → login_required with the instruction; against the vendor mock → ready,
a real answer with confidence, approval prompts answered per preset; nothing left behind."""

from __future__ import annotations

import time

import pytest

from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind, LoginRequired
from tests.helpers.clis import definition, leftovers, local_agent, make_ctx
from tests.helpers.vendor_mock import VendorMock

pytestmark = [pytest.mark.cli, pytest.mark.pty]
KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}
INSTRUCTION = {
    "claude": "Not logged in · run /login",
    "codex": "Sign in with ChatGPT",
    "gemini": "How would you like to authenticate for this project?",
    "aider": "No LLM model was specified and no API keys were provided.",
}


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini", "aider"])
def test_no_credentials_is_login_required_with_instruction(cli, tmp_path):
    ctx = make_ctx(tmp_path, {})
    events = []
    ctx.bus.subscribe(events.append)
    t0 = time.monotonic()
    with pytest.raises(LoginRequired) as err:
        with local_agent(cli, definition(cli, None, mode="long-lived", with_key=False), ctx, "nocreds"):
            pass
    assert time.monotonic() - t0 < 60
    assert INSTRUCTION[cli] in err.value.instruction
    assert any(getattr(e, "name", "") == "login_required" for e in events)
    assert leftovers("nocreds", ctx) == []
    assert not (ctx.run_dir / "agents" / "nocreds").exists()


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini", "aider"])
def test_interactive_answer(cli, tmp_path):
    with VendorMock() as mock:
        ctx = make_ctx(tmp_path, KEY)
        with local_agent(cli, definition(cli, mock.url, mode="long-lived"), ctx, "tui") as agent:
            first = agent.execute(TaskRequest(task_id="t1", description="Say hello. TOKEN:okapi", timeout=60))
            second = agent.execute(TaskRequest(task_id="t2", description="Again. TOKEN:lemur", timeout=60))
    assert "The token is okapi." in first.result and first.confidence == 0.85
    assert "The token is lemur." in second.result and second.confidence == 0.85
    assert leftovers("tui", ctx) == []


@pytest.mark.parametrize("cli,approval,runs", [
    ("claude", "permissive", True), ("claude", "standard", False),
    ("codex", "autonomous", True), ("codex", "readonly", False),
    ("gemini", "permissive", True), ("gemini", "standard", False),
    ("aider", "permissive", True), ("aider", "standard", False),
])
def test_interactive_approval_per_preset(cli, approval, runs, tmp_path):
    # codex asks only for commands that want out of its sandbox (and never with bypass on).
    with VendorMock("tool", escalate=(cli == "codex" and approval != "autonomous")) as mock:
        ctx = make_ctx(tmp_path, KEY)
        d = definition(cli, mock.url, mode="long-lived", approval=approval)
        with local_agent(cli, d, ctx, "appr") as agent:
            request = TaskRequest(task_id="t1", description="Create the file. TOKEN:quokka", timeout=60)
            try:
                result = agent.execute(request)
            except AgentFailure as exc:  # a denied approval may end the turn without an answer
                assert not runs and exc.kind is FailureKind.TASK, (exc, exc.output)
            else:
                assert "quokka" in str(result.result)
    assert (ctx.workdir / "created_by_mock.txt").exists() is runs
