"""Agent type ``claude``: Anthropic's Claude Code CLI (npm ``@anthropic-ai/claude-code``).

Per-task: ``claude -p PROMPT --output-format stream-json --verbose`` (events as the task goes,
then the ``result`` object ``--output-format json`` prints alone; ``is_error`` is the truth,
``subtype`` says "success" even on errors). Long-lived: the interactive TUI.
Options: ``approval``, ``output`` (stream-json | json), ``model``, ``base_url`` (ANTHROPIC_BASE_URL), ``max_retries``
(CLAUDE_CODE_MAX_RETRIES; claude retries 10 times, minutes), ``binary``, ``version``.
The isolated HOME gets ``.claude.json`` (onboarding done, workdir trusted, key approved) and
``.claude/settings.json`` with ``prefersReducedMotion`` (claude's "Reduce motion": its 50 ms
animation timers, the start logo and the spinner shimmer, cost CPU that nobody watches: 0.1-0.3 s
of the ~1.1 s a start uses in its first seconds). The rest is claude's own JavaScript (the Bun
bundle's evaluation, the first React render); the ~10 git commands, `ps`, `ssh` and the plugin
marketplace clone it starts cost ~0.01 s, and the variables that skip them save nothing measurable.
"""

from __future__ import annotations

import json
import os

from runner.agents import usage
from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types.answer import split_confidence, task_prompt
from runner.agents.types.base import LaunchSpec
from runner.agents.types.clibase import CliType, cli_options
from runner.agents.types.jsonout import failure_for, json_objects, tail
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.plugins import described
from runner.spec.models import AgentDef

# readonly: plan mode never edits or runs; standard: asks (interactive) / denies (-p);
# permissive: edits and Bash allowed; autonomous: everything (refused as root unless IS_SANDBOX=1).
APPROVAL_FLAGS = {
    "readonly": ("--permission-mode", "plan"),
    "standard": ("--permission-mode", "default"),
    "permissive": ("--permission-mode", "acceptEdits", "--allowedTools", "Bash"),
    "autonomous": ("--dangerously-skip-permissions",),
}


# The isolated HOME's user settings. Reduce motion stops the TUI's 50 ms animation timers (the
# start logo, the spinner shimmer while it works): frames nobody watches cost CPU, the most
# when many agents start at once. Nothing else changes (the states and titles are read the same).
USER_SETTINGS = {"prefersReducedMotion": True}


class ClaudeType(CliType):
    name = "claude"
    options_schema = cli_options(
        logged_in=described({"type": "boolean"}, "the CLI's own login is set up: start without an API key"),
        max_retries=described({"type": "integer", "minimum": 0}, "the CLI's API retries (CLAUDE_CODE_MAX_RETRIES)"))
    binary = "claude"
    key_env = {"anthropicKey": "ANTHROPIC_API_KEY", "githubToken": "GITHUB_TOKEN"}

    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        home = self.home(ctx, agent_id)
        cwd = self.workdir(definition, ctx, request)
        secrets = self.secrets(definition, ctx)
        if (request is None and definition.mode == "long-lived" and not secrets.get("ANTHROPIC_API_KEY")
                and not definition.options.get("logged_in")):
            # The isolated HOME holds no login, so the TUI cannot be logged in; it would show
            # its ready prompt for ~10 s before `Not logged in · run /login` (recorded).
            raise LoginRequired(agent_id, "Not logged in · run /login (no API key: set credentials.anthropicKey)")
        seed(home, cwd, secrets.get("ANTHROPIC_API_KEY"), self.approval(definition))
        env = self.base_env(definition, ctx, agent_id, home)
        env.update({"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
        if definition.options.get("base_url"):
            env["ANTHROPIC_BASE_URL"] = str(definition.options["base_url"])
        if definition.options.get("max_retries") is not None:
            env["CLAUDE_CODE_MAX_RETRIES"] = str(definition.options["max_retries"])
        if self.approval(definition) == "autonomous" and os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"  # claude refuses to skip permissions as root otherwise
        env.update(secrets)
        argv = [self.require_binary(definition)]
        if request is not None:
            fmt = self.output_format(definition)
            argv += ["-p", task_prompt(request), "--output-format", fmt, "--no-session-persistence"]
            if fmt == "stream-json":
                argv.append("--verbose")  # claude refuses stream-json without it
        argv += APPROVAL_FLAGS[self.approval(definition)]
        if definition.options.get("model"):
            argv += ["--model", str(definition.options["model"])]
        return LaunchSpec(argv=tuple(argv), env=env, cwd=cwd)

    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        if exit_status is None and definition.mode == "long-lived":
            return self.screen_result(definition, request, output)
        result = next((o for o in reversed(list(json_objects(output))) if o.get("type") == "result"), None)
        if result is None:
            raise failure_for(tail(output) or f"no result (exit {exit_status})", output=output) \
                if tail(output) else AgentFailure(FailureKind.PARSE, "claude printed no result", output=output)
        text = str(result.get("result") or "")
        if result.get("is_error"):
            raise failure_for(text or str(result.get("terminal_reason")), output=output)
        answer, confidence = split_confidence(text)
        return TaskResult(task_id=request.task_id, result=answer,
                          confidence=confidence if confidence is not None else definition.confidence,
                          output=output, usage=usage.from_claude(result), denied=denied_tools(result))


def denied_tools(result: dict) -> tuple[str, ...]:  # noqa: ANN001 - claude's JSON result event
    """The tools claude's result says were refused (``permission_denials``), each once."""
    denials: list = result.get("permission_denials") or []
    return tuple(dict.fromkeys(str(d.get("tool_name", "?")) if isinstance(d, dict) else str(d) for d in denials))


def seed(home, cwd, key: str | None, approval: str) -> None:  # noqa: ANN001
    """Write ``$HOME/.claude.json`` (onboarding done, workdir trusted, the key approved) and
    ``$HOME/.claude/settings.json`` (``prefersReducedMotion``: no animations; CPU, see module)."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(USER_SETTINGS), encoding="utf-8")
    approved = [key, key[-20:]] if key else []
    config = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "autoUpdates": False,
        "customApiKeyResponses": {"approved": approved, "rejected": []},
        "projects": {str(cwd): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}},
        "bypassPermissionsModeAccepted": approval == "autonomous",
    }
    path = home / ".claude.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
