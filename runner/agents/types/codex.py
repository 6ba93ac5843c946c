"""Agent type ``codex``: OpenAI's Codex CLI (npm ``@openai/codex``).

Per-task: ``codex exec --json`` (JSON lines; ``turn.completed`` / ``turn.failed`` decide).
Long-lived: the TUI with ``--no-daemon`` (else it leaves a detached app-server behind).
Config lives in an isolated ``CODEX_HOME`` whose ``config.toml`` trusts the workdir and,
when a key is given, defines a provider reading it from ``OPENAI_API_KEY`` (the TUI
ignores the env key otherwise and shows its login screen). Options: ``approval``,
``model``, ``base_url`` (default https://api.openai.com/v1), ``binary``, ``version``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.agents import usage
from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types.answer import split_confidence, task_prompt
from runner.agents.types.base import LaunchSpec
from runner.agents.types.clibase import CliType
from runner.agents.types.jsonout import failure_for, json_objects, tail
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.spec.models import AgentDef

_BYPASS = ("--dangerously-bypass-approvals-and-sandbox",)
# `--full-auto` was removed in 0.16x; exec never asks, so its presets only pick the sandbox.
EXEC_FLAGS = {
    "readonly": ("-s", "read-only"),
    "standard": ("-s", "workspace-write"),
    "permissive": ("-s", "workspace-write"),
    "autonomous": _BYPASS,
}
TUI_FLAGS = {
    "readonly": ("-s", "read-only", "-a", "on-request"),
    "standard": ("-s", "workspace-write", "-a", "on-request"),
    "permissive": ("-s", "workspace-write", "-a", "never"),
    "autonomous": _BYPASS,
}


class CodexType(CliType):
    name = "codex"
    binary = "codex"
    key_env = {"openaiKey": "OPENAI_API_KEY", "githubToken": "GITHUB_TOKEN"}

    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        home = self.home(ctx, agent_id)
        cwd = self.workdir(definition, ctx, request)
        secrets = self.secrets(definition, ctx)
        key = secrets.get("OPENAI_API_KEY")
        if request is not None and not key:
            # `codex exec` without auth waits for the network forever: say so at once.
            raise LoginRequired(agent_id, "codex has no OpenAI API key: set credentials.openaiKey "
                                          "or run `codex login`")
        codex_home = home / ".codex"
        seed(codex_home, cwd, definition, with_provider=bool(key))
        env = self.base_env(definition, ctx, agent_id, home)
        env["CODEX_HOME"] = str(codex_home)
        env.update(secrets)
        argv = [self.require_binary(definition)]
        if request is not None:
            argv += ["exec", "--json", "--skip-git-repo-check", "--ephemeral", *EXEC_FLAGS[self.approval(definition)]]
        else:
            argv += ["--no-daemon", *TUI_FLAGS[self.approval(definition)]]
        if definition.options.get("model"):
            argv += ["-m", str(definition.options["model"])]
        if request is not None:
            argv += ["--", task_prompt(request)]
        return LaunchSpec(argv=tuple(argv), env=env, cwd=cwd)

    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        if exit_status is None and definition.mode == "long-lived":
            return self.screen_result(definition, request, output)
        turns: list[Mapping[str, Any]] = []
        answer, failed, errors = None, None, []
        for ev in json_objects(output):
            kind = ev.get("type")
            item = ev.get("item") or {}
            if kind == "item.completed" and item.get("type") == "agent_message":
                answer = str(item.get("text") or "")
            elif kind == "item.completed" and item.get("type") == "error":
                errors.append(str(item.get("message")))
            elif kind == "error":
                errors.append(str(ev.get("message")))
            elif kind == "turn.completed":
                used = ev.get("usage")
                turns.append(used if isinstance(used, dict) else {})
            elif kind == "turn.failed":
                failed = str((ev.get("error") or {}).get("message") or "turn failed")
        if failed is not None:
            raise failure_for(failed, output=output)
        if answer is None:
            if errors:
                raise failure_for(errors[-1], output=output)
            raise AgentFailure(FailureKind.PARSE, f"codex printed no answer (exit {exit_status}): {tail(output, 300)}",
                               output=output)
        text, confidence = split_confidence(answer)
        return TaskResult(task_id=request.task_id, result=text,
                          confidence=confidence if confidence is not None else definition.confidence,
                          output=output, usage=usage.from_codex(turns))


def seed(codex_home: Path, cwd: Path, definition: AgentDef, with_provider: bool) -> None:
    """Write ``$CODEX_HOME/config.toml``: the workdir trusted, a key-reading provider when keyed."""
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home.parent / "tmp").mkdir(exist_ok=True)
    lines = []
    model = definition.options.get("model")
    if model:
        lines.append(f"model = {json.dumps(str(model))}")
    if with_provider:
        base_url = str(definition.options.get("base_url") or "https://api.openai.com").rstrip("/")
        lines += ['model_provider = "runner"', "", "[model_providers.runner]", 'name = "runner"',
                  f"base_url = {json.dumps(base_url + '/v1')}", 'env_key = "OPENAI_API_KEY"',
                  'wire_api = "responses"']
    lines += ["", f"[projects.{json.dumps(str(cwd))}]", 'trust_level = "trusted"', ""]
    (codex_home / "config.toml").write_text("\n".join(lines), encoding="utf-8")
