"""Agent type ``gemini``: Google's Gemini CLI (npm ``@google/gemini-cli``).

Per-task: ``gemini -o stream-json -p PROMPT`` (``message`` events, the assistant's ones make the
answer, then ``result{status, error?, stats}``; with ``options.output: json`` one object,
``response`` + ``stats``), an ``error`` object on stderr, exit 41 = no auth, 55 = untrusted
folder, 145 = key refused.
Long-lived: the interactive TUI. The isolated HOME gets ``.gemini/trustedFolders.json``
(the workdir trusted: otherwise the trust dialog re-launches the process) and, with a key,
``settings.json`` selecting API-key auth (required with a custom base URL in 0.61).
Options: ``approval``, ``output`` (stream-json | json), ``model``, ``base_url`` (GOOGLE_GEMINI_BASE_URL), ``binary``, ``version``.
``GEMINI_CLI_NO_RELAUNCH=true``: gemini otherwise loads its bundle twice, once in a parent that
only relaunches the CLI in a child node with ``--max-old-space-size`` (half the RAM) and waits
(1.0 of the ~2.6 s CPU a start costs). Runner gives that heap size itself (``NODE_OPTIONS``), so
one node runs the same CLI. What the parent would also do, relaunch after the trust dialog or a
setting that needs a restart, does not happen in a seeded run (the workdir is trusted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from runner.agents import usage
from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types.answer import split_confidence, task_prompt
from runner.agents.types.base import LaunchSpec
from runner.agents.types.clibase import CliType
from runner.agents.types.jsonout import failure_for, json_objects, tail
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind
from runner.spec.models import AgentDef

APPROVAL_MODE = {"readonly": "plan", "standard": "default", "permissive": "auto_edit", "autonomous": "yolo"}
EXIT_MEANING = {41: "no authentication configured", 55: "folder not trusted", 145: "API key refused"}


class GeminiType(CliType):
    name = "gemini"
    binary = "gemini"
    key_env = {"googleKey": "GEMINI_API_KEY", "githubToken": "GITHUB_TOKEN"}

    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        home = self.home(ctx, agent_id)
        cwd = self.workdir(definition, ctx, request)
        secrets = self.secrets(definition, ctx)
        seed(home, cwd, with_key=bool(secrets.get("GEMINI_API_KEY") or secrets.get("GOOGLE_API_KEY")))
        env = self.base_env(definition, ctx, agent_id, home)
        if definition.options.get("base_url"):
            env["GOOGLE_GEMINI_BASE_URL"] = str(definition.options["base_url"])
        env["CLI_TITLE"] = "runner"  # a stable window title: `◇  Ready (runner)`
        env["GEMINI_CLI_NO_RELAUNCH"] = "true"  # one node instead of two (see module)
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --max-old-space-size={half_ram_mb()}".strip()
        env.update(secrets)
        argv = [self.require_binary(definition), "--approval-mode", APPROVAL_MODE[self.approval(definition)]]
        if definition.options.get("model"):
            argv += ["-m", str(definition.options["model"])]
        if request is not None:
            argv += ["-o", self.output_format(definition), "-p", task_prompt(request)]
        return LaunchSpec(argv=tuple(argv), env=env, cwd=cwd)

    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        if exit_status is None and definition.mode == "long-lived":
            return self.screen_result(definition, request, output)
        objs = list(json_objects(output))
        done = next((o for o in reversed(objs) if "response" in o), None)
        error = next((o["error"] for o in reversed(objs) if isinstance(o.get("error"), dict)), None)
        final = next((o for o in reversed(objs) if o.get("type") == "result"), None)
        if final is not None and done is None:  # stream-json: the answer is the assistant's messages
            done = {"response": "".join(str(o.get("content") or "") for o in objs
                                        if o.get("type") == "message" and o.get("role") == "assistant"),
                    "stats": final.get("stats") or {}}
            if final.get("status") == "error" and error is None:
                error = final.get("error") if isinstance(final.get("error"), dict) else {"message": "error"}
        if done is None or error is not None:
            if error is not None:
                raise failure_for(f"{error.get('message')} (code {error.get('code')})", output=output)
            meaning = EXIT_MEANING.get(exit_status or 0)
            if meaning or tail(output):
                raise failure_for(f"{meaning or 'no response'}: {tail(output, 400)}", output=output)
            raise AgentFailure(FailureKind.PARSE, f"gemini printed no response (exit {exit_status})", output=output)
        text, confidence = split_confidence(str(done.get("response") or ""))
        stats = done.get("stats") or {}
        return TaskResult(task_id=request.task_id, result=text,
                          confidence=confidence if confidence is not None else definition.confidence,
                          output=output, usage=usage.from_gemini(stats) if isinstance(stats, dict) else {})


def half_ram_mb() -> int:
    """Half the machine's RAM in MB: the heap limit gemini's relaunch gives its child node."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (2 * 1024 * 1024)


def seed(home: Path, cwd: Path, with_key: bool) -> None:
    """``$HOME/.gemini``: the workdir trusted; API-key auth selected when a key is given."""
    gem = home / ".gemini"
    gem.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    (gem / "trustedFolders.json").write_text(json.dumps({str(cwd): "TRUST_FOLDER"}), encoding="utf-8")
    settings: dict = {"general": {"disableAutoUpdate": True, "disableUpdateNag": True},
                      "privacy": {"usageStatisticsEnabled": False}}
    if with_key:
        settings["security"] = {"auth": {"selectedType": "gemini-api-key"}}
    (gem / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
