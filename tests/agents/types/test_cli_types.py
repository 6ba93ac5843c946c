"""Pure unit tests of the four CLI types: argv/env per mode and approval preset, seeded
config, result parsing of canned outputs (the real programs are in test_cli_*.py)."""

from __future__ import annotations

import json
import os
import tomllib

import psutil
import pytest

from runner.agents.model import TaskRequest
from runner.agents.types import AGENT_TYPES, CLI_TYPES, load_type
from runner.agents.types.answer import split_confidence, task_prompt
from runner.agents.types.clibase import CliType
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.images.recipes import IMAGE_FOR_TYPE, source_root
from runner.spec.models import AgentDef
from tests.helpers.clis import make_ctx

REQ = TaskRequest(task_id="t1", description="Do it", data={"n": 1})
KEY = {"K": "sk-secret-value-0123456789abcdef"}


def d(cli, **kw):
    options = {"binary": "/bin/true", **kw.pop("options", {})}
    return AgentDef(type=cli, options=options, **kw)


def test_registered():
    assert {"claude", "codex", "gemini", "aider"} <= set(AGENT_TYPES)


def test_cli_types_are_the_cli_type_classes():
    # CLI_TYPES (doctor, images, runtimes) is read off AGENT_TYPES: it must be exactly the CliTypes
    assert set(CLI_TYPES) == {n for n in AGENT_TYPES if issubclass(type(load_type(n)), CliType)}
    assert IMAGE_FOR_TYPE == {n: f"agent-{n}" for n in CLI_TYPES}
    assert all((source_root() / "images" / image / "Dockerfile").is_file() for image in IMAGE_FOR_TYPE.values())


def test_prompt_asks_for_confidence_and_marker_is_read():
    prompt = task_prompt(REQ)
    assert "Do it" in prompt and '"n": 1' in prompt and "CONFIDENCE" in prompt
    assert split_confidence("answer\n**CONFIDENCE: 0.7**\n") == ("answer", 0.7)
    assert split_confidence("CONFIDENCE: 0.2\nmore\nCONFIDENCE: 1") == ("CONFIDENCE: 0.2\nmore", 1.0)
    assert split_confidence("no marker") == ("no marker", None)


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini", "aider"])
def test_validate(cli):
    t = load_type(cli)
    assert t.validate(d(cli)) == []
    problems = t.validate(d(cli, mode="forever", options={"approval": "yolo"}))
    assert any("mode" in p for p in problems) and any("approval" in p for p in problems)
    problems = t.validate(d(cli, options={"stall": "soon", "task_timeout": -1, "output": "xml"}))
    # the values are checked against the type's options_schema (the same check as runner validate's)
    assert sorted(p.split(":")[0] for p in problems) == ["options.output", "options.stall", "options.task_timeout"]


@pytest.mark.parametrize("mode,options,stall", [
    ("per-task", {}, 600.0), ("long-lived", {}, 120.0), ("per-task", {"stall": 30}, 30.0),
    ("long-lived", {"stall": 0}, None),
])
def test_stall_watchdog_defaults(mode, options, stall):
    assert load_type("claude").stall_timeout(d("claude", mode=mode, options=options)) == stall


def test_claude_launch_seeds_home_and_maps_presets(tmp_path):
    ctx = make_ctx(tmp_path, KEY)
    t = load_type("claude")
    spec = t.launch(d("claude", credentials={"anthropicKey": "K"}, options={"approval": "autonomous",
                                                                           "base_url": "http://x"}), REQ, ctx, "a")
    assert spec.argv[1:3] == ("-p", task_prompt(REQ)) and "--dangerously-skip-permissions" in spec.argv
    assert spec.env["ANTHROPIC_API_KEY"] == KEY["K"] and spec.env["ANTHROPIC_BASE_URL"] == "http://x"
    assert spec.env.get("IS_SANDBOX") == ("1" if os.geteuid() == 0 else None)
    seeded = json.loads((t.home(ctx, "a") / ".claude.json").read_text())
    assert seeded["hasCompletedOnboarding"] and KEY["K"][-20:] in seeded["customApiKeyResponses"]["approved"]
    assert seeded["projects"][str(ctx.workdir.resolve())]["hasTrustDialogAccepted"]
    settings = json.loads((t.home(ctx, "a") / ".claude" / "settings.json").read_text())
    assert settings == {"prefersReducedMotion": True}
    t.cleanup(d("claude"), ctx, "a")
    assert not t.home(ctx, "a").exists()
    with pytest.raises(LoginRequired, match="run /login"):
        t.launch(d("claude", mode="long-lived"), None, ctx, "b")


def test_codex_launch(tmp_path):
    ctx = make_ctx(tmp_path, KEY)
    t = load_type("codex")
    tui = t.launch(d("codex", credentials={"openaiKey": "K"}, mode="long-lived",
                     options={"base_url": "http://m", "model": "mm"}), None, ctx, "a")
    assert "--no-daemon" in tui.argv and "--full-auto" not in tui.argv
    config = tomllib.loads((t.home(ctx, "a") / ".codex" / "config.toml").read_text())
    assert config["model_providers"]["runner"]["base_url"] == "http://m/v1"
    assert config["projects"][str(ctx.workdir.resolve())]["trust_level"] == "trusted"
    assert tui.env["CODEX_HOME"].endswith(".codex")
    one = t.launch(d("codex", credentials={"openaiKey": "K"}), REQ, ctx, "b")
    assert one.argv[1:3] == ("exec", "--json") and one.argv[-1] == task_prompt(REQ)
    with pytest.raises(LoginRequired):
        t.launch(d("codex"), REQ, ctx, "c")


def test_gemini_and_aider_launch(tmp_path):
    ctx = make_ctx(tmp_path, KEY)
    g = load_type("gemini").launch(d("gemini", credentials={"googleKey": "K"}, options={"approval": "autonomous"}),
                                   REQ, ctx, "g")
    assert ("--approval-mode", "yolo") == g.argv[1:3] and g.env["GEMINI_API_KEY"] == KEY["K"]
    assert g.env["GEMINI_CLI_NO_RELAUNCH"] == "true"
    assert g.env["NODE_OPTIONS"] == f"--max-old-space-size={psutil.virtual_memory().total // 2**21}"
    a = load_type("aider").launch(d("aider", credentials={"openaiKey": "K"}), REQ, ctx, "a")
    assert "--message" in a.argv and "--analytics-disable" in a.argv and a.stdin == ""
    with pytest.raises(LoginRequired):
        load_type("aider").launch(d("aider"), REQ, ctx, "b")


def test_claude_results():
    t = load_type("claude")
    ok = json.dumps({"type": "result", "subtype": "success", "is_error": False,
                     "result": "42\nCONFIDENCE: 0.9", "total_cost_usd": 0.1})
    r = t.parse_result(d("claude"), REQ, "noise\r\n" + ok + "\r\n", 0)
    assert (r.result, r.confidence, r.usage) == ("42", 0.9, {"cost_usd": 0.1})
    bad = json.dumps({"type": "result", "subtype": "success", "is_error": True,
                      "result": "Invalid API key · Fix external API key"})
    with pytest.raises(AgentFailure) as err:
        t.parse_result(d("claude"), REQ, bad, 1)
    assert err.value.kind is FailureKind.CONFIG


def test_codex_results():
    t = load_type("codex")
    lines = [{"type": "thread.started"}, {"type": "item.completed", "item": {"type": "agent_message", "text": "hi"}},
             {"type": "turn.completed", "usage": {"input_tokens": 3}}]
    r = t.parse_result(d("codex"), REQ, "\n".join(map(json.dumps, lines)), 0)
    assert r.result == "hi" and r.confidence is None and r.usage == {"input_tokens": 3, "turns": 1}
    failed = json.dumps({"type": "turn.failed", "error": {"message": "stream error"}})
    with pytest.raises(AgentFailure) as err:
        t.parse_result(d("codex"), REQ, failed, 1)
    assert err.value.kind is FailureKind.TASK


def test_gemini_results():
    t = load_type("gemini")
    r = t.parse_result(d("gemini"), REQ, json.dumps({"response": "ok\nCONFIDENCE: 0.5", "stats": {}}), 0)
    assert (r.result, r.confidence) == ("ok", 0.5)
    err_json = json.dumps({"error": {"type": "Error", "message": "Please set an Auth method", "code": 41}})
    with pytest.raises(AgentFailure) as err:
        t.parse_result(d("gemini"), REQ, err_json, 41)
    assert err.value.kind is FailureKind.LOGIN


def test_aider_results_ignore_the_exit_code():
    t = load_type("aider")
    out = "Aider v0.86.2\nModel: x\nGit repo: none\n\nThe answer.\nCONFIDENCE: 0.6\n\nTokens: 5 sent, 2 received.\n"
    r = t.parse_result(d("aider"), REQ, out, 1)
    assert (r.result, r.confidence) == ("The answer.", 0.6)
    with pytest.raises(AgentFailure) as err:
        t.parse_result(d("aider"), REQ, "litellm.AuthenticationError: no\nThe API provider is not able to "
                                          "authenticate you. Check your API key.\n", 0)
    assert err.value.kind is FailureKind.CONFIG


def test_aider_answer_holds_no_repo_scan_progress():
    # As aider 0.86.2 printed it in a PTY (spinner redraws with \r; \b already stripped).
    spins = "".join(f"\r{frame}   Updating repo map: /work/m{i}.py" for i, frame in
                    enumerate(["░█        ", " ░█       ", "  ░█      ", "   █░     "] * 50))
    out = ("Aider v0.86.2\nModel: openai/mock-model with diff edit format\nGit repo: .git with 60 files\n"
           "Repo-map: using 1024 tokens, auto refresh\n\n"
           "░█  Initial repo scan can be slow in larger repos, but only happens once.\n"
           "Scanning repo: 100%|" + "█" * 60 + "| 150/150 [00:06<00:00, 23.64it/s]\n"
           "░█  " + spins + "\r" + " " * 45 + "\rHello from mock.\nCONFIDENCE: 0.85\nTokens: 2.8k sent, 18 received.\n")
    r = load_type("aider").parse_result(d("aider"), REQ, out, 0)
    assert (r.result, r.confidence) == ("Hello from mock.", 0.85)


def test_aider_keeps_its_files_out_of_the_working_tree(tmp_path):
    ctx = make_ctx(tmp_path, KEY)
    t = load_type("aider")
    argv = t.launch(d("aider", credentials={"openaiKey": "K"}), REQ, ctx, "a").argv
    history = argv[argv.index("--chat-history-file") + 1]
    assert history == str(ctx.run_dir / "agents" / "a.aider.chat.md")
    assert not argv[argv.index("--input-history-file") + 1].startswith(str(ctx.workdir))
    cache = ctx.workdir / ".aider.tags.cache.v4"
    cache.mkdir()  # what aider makes at the git root while it runs
    t.cleanup(d("aider"), ctx, "a")
    assert not cache.exists()
    cache.mkdir()  # one the user had before: kept
    t.launch(d("aider", credentials={"openaiKey": "K"}), REQ, ctx, "b")
    t.cleanup(d("aider"), ctx, "b")
    assert cache.exists()
