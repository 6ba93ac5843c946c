"""The four real CLIs, non-interactive (per-task) mode, driven to a real answer against a local
mock of their vendor API: prompt in, answer + confidence out; approval presets; refused keys."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runner.agents.model import TaskRequest
from runner.agents.usage import FIELDS
from runner.errors import AgentFailure, FailureKind, LoginRequired
from tests.helpers.clis import definition, make_ctx, run_task
from tests.helpers.vendor_mock import VendorMock

pytestmark = [pytest.mark.cli, pytest.mark.pty]
CLIS = ["claude", "codex", "gemini", "aider"]
KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}


def task(word: str = "zebra") -> TaskRequest:
    return TaskRequest(task_id="t1", description=f"Say hello. TOKEN:{word}")


@pytest.mark.parametrize("cli", CLIS)
def test_answer_and_confidence(cli, tmp_path):
    with VendorMock() as mock:
        ctx = make_ctx(tmp_path, KEY)
        result = run_task(cli, definition(cli, mock.url), ctx, task("okapi"), "a1")
    assert result.result == "Hello from mock. The token is okapi."
    assert result.confidence == 0.85
    # the mock reports tokens on every reply; each CLI's own report of them is normalised
    assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0, result.usage
    assert set(result.usage) <= set(FIELDS)
    assert mock.requests, "the CLI never reached the mock"
    assert not (ctx.run_dir / "agents" / "a1").exists(), "seeded home not removed"


@pytest.mark.parametrize("cli", CLIS)
def test_refused_key_is_a_config_failure(cli, tmp_path):
    with VendorMock("401") as mock:
        ctx = make_ctx(tmp_path, KEY)
        with pytest.raises(AgentFailure) as err:
            run_task(cli, definition(cli, mock.url), ctx, task(), "a1", timeout=45)
    assert err.value.kind is FailureKind.CONFIG
    assert "sk-test-0123456789" not in str(err.value)


@pytest.mark.parametrize("cli,approval,runs", [
    ("claude", "standard", False), ("claude", "permissive", True),
    ("codex", "readonly", False), ("codex", "standard", True),
    ("gemini", "standard", False), ("gemini", "autonomous", True),
])
def test_tool_call_follows_the_approval_preset(cli, approval, runs, tmp_path):
    with VendorMock("tool") as mock:
        ctx = make_ctx(tmp_path, KEY)
        result = run_task(cli, definition(cli, mock.url, approval=approval), ctx, task(), "a1")
    assert result.confidence == 0.85
    assert (ctx.workdir / "created_by_mock.txt").exists() is runs


@pytest.mark.parametrize("cli", ["claude", "gemini"])
def test_no_credentials_is_login_required(cli, tmp_path):
    ctx = make_ctx(tmp_path, {})
    with pytest.raises(AgentFailure) as err:
        run_task(cli, definition(cli, None, with_key=False), ctx, task(), "a1", timeout=30)
    assert err.value.kind is FailureKind.LOGIN


@pytest.mark.parametrize("cli", ["codex", "aider"])
def test_no_credentials_is_refused_before_start(cli, tmp_path):
    # Both would wait for the network / a browser login for minutes: refuse at launch.
    ctx = make_ctx(tmp_path, {})
    with pytest.raises(LoginRequired, match="API key"):
        run_task(cli, definition(cli, None, with_key=False), ctx, task(), "a1")


@pytest.mark.parametrize("cli,event", [("claude", '"subtype":"init"'), ("gemini", '"type":"init"')])
def test_stream_json_by_default_and_json_on_request(cli, event, tmp_path):
    """stream-json (the default) prints events as the task goes; `output: json` one object at
    the end. Both give the same answer."""
    with VendorMock() as mock:
        ctx = make_ctx(tmp_path, KEY)
        streamed = run_task(cli, definition(cli, mock.url), ctx, task("okapi"), "s1")
        d = definition(cli, mock.url)
        single = run_task(cli, replace(d, options={**d.options, "output": "json"}), ctx, task("okapi"), "j1")
    for r in (streamed, single):
        assert (r.result, r.confidence) == ("Hello from mock. The token is okapi.", 0.85)
    assert event in streamed.output.replace(" ", "")
    assert event not in single.output.replace(" ", "")


@pytest.mark.parametrize("cli", ["claude", "codex"])
def test_a_silent_cli_is_a_hang_by_the_stall_watchdog(cli, tmp_path):
    """The model never answers: the CLI goes silent and its stall limit (`options.stall`; the
    default is 600 s per task) ends the task as a hang instead of waiting out the wall clock."""
    with VendorMock("hang") as mock:
        ctx = make_ctx(tmp_path, KEY)
        d = definition(cli, mock.url)
        with pytest.raises(AgentFailure) as err:
            run_task(cli, replace(d, options={**d.options, "stall": 3}), ctx, task(), "h1", timeout=60)
    assert err.value.kind is FailureKind.HANG, err.value


def test_aider_in_a_repository_answers_cleanly_and_leaves_no_files(tmp_path):
    """A repository to map: aider shows its repo-scan spinner on the terminal; the answer is
    the model's text alone and aider's history and cache files are not left in the tree."""
    import subprocess

    ctx = make_ctx(tmp_path, KEY)
    for i in range(150):
        (ctx.workdir / f"mod{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    subprocess.run(["git", "-C", str(ctx.workdir), "add", "."], check=True)
    subprocess.run(["git", "-C", str(ctx.workdir), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm",
                    "files"], check=True)
    with VendorMock() as mock:
        result = run_task("aider", definition("aider", mock.url), ctx, task("okapi"), "a1", timeout=120)
    assert (result.result, result.confidence) == ("Hello from mock. The token is okapi.", 0.85)
    assert "Repo-map:" in result.output  # it did map the repository
    assert not [p.name for p in ctx.workdir.iterdir() if p.name.startswith(".aider")]
    assert (ctx.run_dir / "agents" / "a1.aider.chat.md").exists()
