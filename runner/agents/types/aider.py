"""Agent type ``aider``: Aider (PyPI ``aider-chat``, in its own venv).

Per-task: ``aider --message PROMPT`` (no JSON: the answer is the text before the
``Tokens: N sent, M received.`` line; errors are ``litellm.*Error`` lines; the exit code is
0 even on failure, so it is ignored). Long-lived: the plain line prompt (``> ``).
Quiet-start flags skip analytics, update check, release notes and .gitignore questions.
Aider's files stay out of the working tree: the chat history goes to the journal
(``agents/<id>.aider.chat.md``), the input history to the agent's HOME, and the repo-map cache
(``.aider.tags.cache.v4`` at the git root, which no option moves) is removed when the agent
stops unless it was there before. Spinner redraws (``\r``) are settled as a terminal shows
them, so the answer holds no repo-scan progress.
Options: ``approval``, ``model`` (``openai/<name>`` for an OpenAI-compatible base URL),
``base_url`` (OPENAI_API_BASE), ``edit_format``, ``auto_commits`` (default false),
``binary``, ``version``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from runner.agents import usage
from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types.answer import CONFIDENCE_INSTRUCTION, split_confidence, task_prompt
from runner.agents.types.base import LaunchSpec
from runner.agents.types.clibase import CliType, cli_options
from runner.agents.types.jsonout import clean, failure_for, tail
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.plugins import described
from runner.spec.models import AgentDef

QUIET = ("--analytics-disable", "--no-check-update", "--no-show-release-notes", "--no-gitignore",
         "--no-show-model-warnings", "--no-pretty", "--no-fancy-input")
# Per-task has nobody to answer a question, so shell suggestions are off unless yes-always.
APPROVAL_FLAGS = {
    "readonly": ("--chat-mode", "ask", "--no-suggest-shell-commands"),
    "standard": (),
    "permissive": ("--yes-always",),
    "autonomous": ("--yes-always",),
}
_TOKENS = re.compile(r"^Tokens: .*$", re.MULTILINE)
_ERROR = re.compile(r"^litellm\.\w+Error:.*$|^The API provider .*$", re.MULTILINE)
TAGS_CACHE = ".aider.tags.cache.v4"  # aider/repomap.py: TAGS_CACHE_DIR, under the git root
_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY")


class AiderType(CliType):
    name = "aider"
    options_schema = cli_options(
        auto_commits=described({"type": "boolean"}, "let aider commit its edits (false)"),
        edit_format=described({"type": "string", "minLength": 1}, "aider's --edit-format (diff)"))
    binary = "aider"

    def __init__(self) -> None:
        super().__init__()
        self._made_caches: dict[tuple[str, str], set[Path]] = {}  # (run dir, agent id) -> caches to remove
    key_env = {"openaiKey": "OPENAI_API_KEY", "anthropicKey": "ANTHROPIC_API_KEY",
               "googleKey": "GEMINI_API_KEY", "githubToken": "GITHUB_TOKEN"}

    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        home = self.home(ctx, agent_id)
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        secrets = self.secrets(definition, ctx)
        keyed = any(k in secrets for k in _KEYS)
        if request is not None and not keyed:
            # Without a key aider offers an OpenRouter browser login and waits 5 minutes.
            raise LoginRequired(agent_id, "aider has no model API key: set credentials "
                                          "(openaiKey / anthropicKey / googleKey)")
        env = self.base_env(definition, ctx, agent_id, home)
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no price-map fetch from the network
        if definition.options.get("base_url"):
            env["OPENAI_API_BASE"] = str(definition.options["base_url"]).rstrip("/") + "/v1"
        env.update(secrets)
        cwd = self.workdir(definition, ctx, request)
        argv = [self.require_binary(definition), *QUIET, *self._files(ctx, agent_id, home, cwd)]
        approval = self.approval(definition)
        flags = APPROVAL_FLAGS[approval]
        if request is None and "--yes-always" in flags:
            # Interactive: the driver answers every question per the preset; --yes-always
            # would instead silently skip shell commands (aider requires an explicit yes).
            flags = ()
        elif request is not None and approval == "standard":
            flags = ("--no-suggest-shell-commands",)
        argv += flags
        if not keyed:
            argv = [a for a in argv if a != "--yes-always"]  # it would accept the OpenRouter login
        if not definition.options.get("auto_commits", False):
            argv.append("--no-auto-commits")
        if definition.options.get("model"):
            argv += ["--model", str(definition.options["model"])]
        argv += ["--edit-format", str(definition.options.get("edit_format", "diff"))]
        if request is not None:
            argv += ["--message", task_prompt(request)]
        # Per-task: stdin at EOF, so a question nobody can answer ends the run instead of hanging.
        return LaunchSpec(argv=tuple(argv), env=env, cwd=cwd, stdin="" if request is not None else None)

    def _files(self, ctx: RunContext, agent_id: str, home: Path, cwd: Path) -> tuple[str, ...]:
        """Aider's history files out of the working tree; notes a repo-map cache to remove."""
        root = _git_root(cwd)
        if root is not None and not (root / TAGS_CACHE).exists():
            self._made_caches.setdefault((str(ctx.run_dir), agent_id), set()).add(root / TAGS_CACHE)
        return ("--chat-history-file", str(ctx.run_dir / "agents" / f"{agent_id}.aider.chat.md"),
                "--input-history-file", str(home / ".aider.input.history"))

    def cleanup(self, definition: AgentDef, ctx: RunContext, agent_id: str) -> None:
        """The seeded home, and the repo-map cache aider made in the user's tree."""
        super().cleanup(definition, ctx, agent_id)
        for made in self._made_caches.pop((str(ctx.run_dir), agent_id), set()):
            shutil.rmtree(made, ignore_errors=True)

    def format_task(self, definition: AgentDef, request: TaskRequest) -> str:
        """Plain input (no fancy prompt): one line, since Enter submits."""
        return " ".join(task_prompt(request).split()) + "\r"

    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        text = clean(settle(output))
        errors = _ERROR.findall(text)
        tokens = list(_TOKENS.finditer(text))
        if not tokens:
            if errors:
                raise failure_for(" ".join(errors), output=output)
            raise AgentFailure(FailureKind.PARSE, f"aider printed no answer: {tail(output, 300)}", output=output)
        last = tokens[-1]
        start = tokens[-2].end() if len(tokens) > 1 else _after_banner(text, last.start())
        echo = text.rfind(CONFIDENCE_INSTRUCTION[-30:], start, last.start())
        if echo >= 0:  # a long-lived session echoed the typed task: the answer follows it
            start = echo + 30
        answer, confidence = split_confidence(text[start: last.start()])
        if not answer and errors:
            raise failure_for(" ".join(errors), output=output)
        return TaskResult(task_id=request.task_id, result=answer,
                          confidence=confidence if confidence is not None else definition.confidence,
                          output=output, usage=usage.from_aider(last.group(0)))


_BANNER = re.compile(r"^(Aider v|Main model:|Weak model:|Editor model:|Git repo:|Repo-map:|Model:|"
                     r"Use /help|Added |Warning|https?://|Cur working dir:|─+$"
                     # repo-scan progress (after a spinner's leftover glyphs): notice, tqdm bar, spinners
                     r"|[ ░█#=]*(?:Initial repo scan can be slow|Scanning repo: +\d+%\|)"
                     r"|[ ░█#=]{10} (?:Updating repo map|Waiting for)).*$", re.MULTILINE)


def settle(output: str) -> str:
    """Lines as a terminal shows them once redrawn with carriage returns: each part after a
    ``\r`` overwrites the line from its start (aider's spinners redraw hundreds of times)."""
    if "\r" not in output:
        return output
    lines = []
    for line in output.replace("\r\n", "\n").split("\n"):
        if "\r" in line:
            shown = ""
            for part in line.split("\r"):
                shown = part + shown[len(part):]
            line = shown.rstrip()
        lines.append(line)
    return "\n".join(lines)


def _git_root(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _after_banner(text: str, end: int) -> int:
    """Where the reply starts: after the last banner/info line before ``end``."""
    found = [m.end() for m in _BANNER.finditer(text, 0, end)]
    return found[-1] if found else 0
