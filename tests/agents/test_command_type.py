"""The command agent type: validation, launch specs, detectors, task text, results."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agents.model import TaskRequest
from runner.agents.types.command import DEFAULT_LOGIN_PATTERN, CommandType, compile_pattern
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind
from runner.spec.models import AgentDef

T = CommandType()
REQ = TaskRequest(task_id="t9", description="fix the bug\nin main.py")


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    return RunContext(workdir=tmp_path, environ={"RUNNER_KEY": "secret", "OTHER": "x"})


def test_validate_reports_every_problem():
    assert T.validate(AgentDef(command=("prog",))) == []
    problems = T.validate(AgentDef(command=(), mode="long-lived", input="file", login_pattern="(",
                                   options={"output": "yaml"}, confidence=1.5))
    text = "\n".join(problems)
    assert "`command` is missing" in text
    assert "`input` must be one of stdin, argument" in text
    assert "`login_pattern` is not a valid regular expression" in text
    assert "needs `ready_pattern`" in text
    assert "options.output: expected one of: text, json" in text and "`confidence`" in text
    assert "`mode` must be" in T.validate(AgentDef(command=("p",), mode="daemon"))[0]
    assert "{task}" in T.validate(AgentDef(command=("p", "{task}"), mode="long-lived", ready_pattern="> "))[0]


def test_launch_per_task_stdin(ctx):
    d = AgentDef(command=("prog", "-q"), env={"A": "1"}, credentials={"API_KEY": "RUNNER_KEY", "NOPE": "MISSING"})
    spec = T.launch(d, REQ, ctx, "agent-1")
    assert spec.argv == ("prog", "-q")
    assert spec.stdin == "fix the bug\nin main.py\n"
    assert spec.cwd == ctx.workdir
    assert spec.env == {"A": "1", "API_KEY": "secret", "RUNNER_TASK_ID": "t9", "RUNNER_MANAGED": "1",
                        "RUNNER_RUN_ID": ctx.run_id, "RUNNER_AGENT_ID": "agent-1"}


def test_launch_argument_placeholder_or_appended(ctx):
    d = AgentDef(command=("prog", "--prompt={task}", "-v"), input="argument", workdir="sub")
    spec = T.launch(d, REQ, ctx, "a")
    assert spec.argv == ("prog", "--prompt=fix the bug\nin main.py", "-v") and spec.stdin is None
    assert spec.cwd == ctx.workdir / "sub"
    d = AgentDef(command=("prog",), input="argument")
    assert T.launch(d, REQ, ctx, "a").argv == ("prog", "fix the bug\nin main.py")


def test_launch_session_and_label_env_wins(ctx):
    d = AgentDef(command=("repl",), mode="long-lived", ready_pattern="> $", env={"RUNNER_RUN_ID": "forged"})
    spec = T.launch(d, None, ctx, "a")
    assert spec.argv == ("repl",) and spec.stdin is None
    assert spec.env["RUNNER_RUN_ID"] == ctx.run_id
    assert "RUNNER_TASK_ID" not in spec.env


def test_detectors_and_default_login_pattern():
    d = AgentDef(command=("repl",), mode="long-lived", ready_pattern=r"^> $")
    det = T.detectors(d)
    assert det.ready.search("banner\n> ") and det.done is det.ready
    assert det.login.pattern == DEFAULT_LOGIN_PATTERN
    login = compile_pattern(DEFAULT_LOGIN_PATTERN)
    for text in ["Please log in to continue", "Login required", "Not logged in · run /login",
                 "please authenticate first", "Authentication required.", "Sign in required"]:
        assert login.search(text), text
    for text in ["logging in the database", "the login page was fixed", "I signed in yesterday"]:
        assert not login.search(text), text
    d2 = AgentDef(command=("x",), mode="long-lived", ready_pattern="> $", done_pattern="DONE", login_pattern="AUTH")
    det2 = T.detectors(d2)
    assert det2.done.pattern == "DONE" and det2.login.pattern == "AUTH"


def test_format_task():
    d = AgentDef(command=("x",))
    assert T.format_task(d, REQ) == "fix the bug in main.py\n"
    assert T.format_task(AgentDef(command=("x",), options={"multiline": True}), REQ) == "fix the bug\nin main.py\n"


def test_parse_result():
    d = AgentDef(command=("x",), confidence=0.5)
    r = T.parse_result(d, REQ, 'x\n{"result": "ok", "confidence": 0.9}', 0)
    assert (r.task_id, r.result, r.confidence, r.output) == ("t9", "ok", 0.9, 'x\n{"result": "ok", "confidence": 0.9}')
    assert T.parse_result(d, REQ, "plain", 0).confidence == 0.5
    assert T.parse_result(d, REQ, '{"result": 1}', 2).result == 1  # an explicit answer despite the exit
    with pytest.raises(AgentFailure) as info:
        T.parse_result(d, REQ, "Error: no such file", 2)
    assert info.value.kind == FailureKind.TASK and "status 2" in str(info.value)
    with pytest.raises(AgentFailure) as info:
        T.parse_result(AgentDef(command=("x",), options={"output": "json"}), REQ, "plain", 0)
    assert info.value.kind == FailureKind.PARSE
