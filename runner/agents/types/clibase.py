"""What the four real CLI types (claude, codex, gemini, aider) share.

- finding the binary (``options.binary``, then PATH, then the project-local install
  ``$RUNNER_CLIS_PREFIX/bin``, default ``~/.cache/runner/clis/bin``, made by ``.ci/setup-clis.sh``);
- the seed's credential names (``anthropicKey``...) mapped to each CLI's env var;
- a per-run, per-agent isolated HOME that the type pre-seeds so the CLI starts without
  first-run dialogs, removed by ``cleanup``;
- the approval preset (``options.approval``: readonly | standard | permissive | autonomous);
- the screen detector built from the CLI's rule table.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from runner.agents.model import TaskRequest, TaskResult
from runner.agents.types.answer import split_confidence, task_prompt
from runner.agents.types.base import AgentType, Detectors, TypeCapabilities
from runner.agents.types.screen import ScreenDetector
from runner.agents.types.screentable import load_table
from runner.context import RunContext
from runner.errors import AgentFailure, ConfigurationError, FailureKind
from runner.plugins import closed, described
from runner.spec.models import AgentDef

PRESETS = ("readonly", "standard", "permissive", "autonomous")
# Per-task machine output (claude, gemini): `stream-json` prints events as the task goes (live
# transcript, and an `inactivity` limit can tell a stall); `json` prints one object at the end.
OUTPUTS = ("stream-json", "json")
SEED_KEYS = {"anthropicKey", "openaiKey", "googleKey", "githubToken"}
def _local_bin() -> str:
    """Where ``.ci/setup-clis.sh`` installs the CLIs (shared by every checkout of the machine)."""
    prefix = os.environ.get("RUNNER_CLIS_PREFIX") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runner" / "clis")
    return str(Path(prefix) / "bin")
_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cli_options(**own: dict[str, Any]) -> dict[str, Any]:
    """The options schema of a CLI type: what every CLI type reads, plus its ``own`` keys."""
    seconds = {"type": "number", "minimum": 0}
    text = {"type": "string", "minLength": 1}
    return closed({
        "approval": described({"enum": list(PRESETS)}, "what the CLI may do unasked (standard)"),
        "output": described({"enum": list(OUTPUTS)}, "per-task output format read (stream-json)"),
        "task_timeout": described(seconds, "wall clock of a task whose step sets no timeout (900)"),
        "stall": described(seconds, "seconds of no progress that fail a task (120 long-lived, 600 per-task; 0: off)"),
        "version": described({"type": ["string", "number"]}, "the CLI version whose screen table to use"),
        "binary": described(text, "the CLI program (else found on PATH or in runner's CLI cache)"),
        "model": described(text, "the model the CLI uses"),
        "base_url": described(text, "the vendor API's base URL (a proxy or mock)"),
        **own})


class CliType(AgentType):
    """Base of the real CLI types; subclasses fill in the argv, env and seeding."""

    binary = ""
    key_env: dict[str, str] = {}  # seed credential name -> the env var the CLI reads
    capabilities = TypeCapabilities(per_task=True, long_lived=True)
    options_schema = cli_options()

    # --- contract --------------------------------------------------------------------
    def validate(self, definition: AgentDef) -> list[str]:
        problems = []
        if definition.mode not in ("per-task", "long-lived"):
            problems.append(f"mode `{definition.mode}`: expected `per-task` or `long-lived`")
        problems += self.option_problems(definition)
        for key in definition.credentials:
            if key in SEED_KEYS and key not in self.key_env:
                problems.append(f"credentials.{key}: `{self.name}` does not use it")
        return problems

    def detectors(self, definition: AgentDef) -> Detectors:
        """Plain-regex fallback for drivers without ``screen_detector`` (login/error only)."""
        login = [r.screen.pattern for r in self.table(definition).rules
                 if r.state == "login_required" and r.screen is not None]
        return Detectors(login=re.compile("|".join(login)) if login else None)

    def format_task(self, definition: AgentDef, request: TaskRequest) -> str:
        """The prompt as one bracketed paste (newlines stay text), then Enter (CR submits)."""
        return f"\x1b[200~{task_prompt(request)}\x1b[201~\r"

    def screen_result(self, definition: AgentDef, request: TaskRequest, text: str) -> TaskResult:
        """A result from the answer read off the screen (long-lived mode): text + confidence."""
        answer, confidence = split_confidence(text)
        if not answer:
            raise AgentFailure(FailureKind.PARSE, "no answer on the screen", output=text)
        return TaskResult(task_id=request.task_id, result=answer,
                          confidence=confidence if confidence is not None else definition.confidence,
                          output=text)

    # --- hooks (defaults on AgentType) ----------------------------------------------
    def screen_detector(self, definition: AgentDef) -> ScreenDetector:
        return ScreenDetector(self.table(definition))

    def cleanup(self, definition: AgentDef, ctx: RunContext, agent_id: str) -> None:
        """Remove the agent's seeded config home (it may hold an approved key)."""
        shutil.rmtree(self.home(ctx, agent_id).parent, ignore_errors=True)

    def task_timeout(self, definition: AgentDef) -> float:
        """The wall-clock limit of a task that sets none (``options.task_timeout``, 900 s):
        offline, codex waits forever and claude/gemini retry for minutes."""
        return float(definition.options.get("task_timeout", 900))

    def stall_timeout(self, definition: AgentDef) -> float | None:
        """The stall watchdog of a task that sets no ``inactivity`` (``options.stall``; 0: off).
        A TUI redraws its timer every second while it works, so 120 s of an unchanged screen
        is a frozen CLI; per-task output can be silent for long (a build run by the agent):
        600 s, inside the 900 s wall clock."""
        default = 120.0 if definition.mode == "long-lived" else 600.0
        value = float(definition.options.get("stall", default))
        return value if value > 0 else None

    def approve_prompts(self, definition: AgentDef) -> bool:
        """Whether an interactive approval prompt is answered yes (else no)."""
        return self.approval(definition) in ("permissive", "autonomous")

    # --- helpers -----------------------------------------------------------------------
    def table(self, definition: AgentDef):  # noqa: ANN201 - ScreenTable
        return load_table(self.name, definition.options.get("version"))

    def output_format(self, definition: AgentDef) -> str:
        return str(definition.options.get("output", "stream-json"))

    def approval(self, definition: AgentDef) -> str:
        return str(definition.options.get("approval", "standard"))

    def find_binary(self, definition: AgentDef) -> str | None:
        explicit = definition.options.get("binary")
        if explicit:
            return str(explicit) if Path(explicit).exists() or shutil.which(explicit) else None
        return shutil.which(self.binary) or shutil.which(self.binary, path=_local_bin())

    def require_binary(self, definition: AgentDef) -> str:
        found = self.find_binary(definition)
        if not found:
            raise ConfigurationError(f"agent type `{self.name}`: `{self.binary}` not installed "
                                     "(run .ci/setup-clis.sh or set options.binary)")
        return found

    def home(self, ctx: RunContext, agent_id: str) -> Path:
        """The agent's isolated HOME: ``<run dir>/agents/<id>/home`` (absolute)."""
        return (ctx.run_dir / "agents" / agent_id / "home").resolve()

    def workdir(self, definition: AgentDef, ctx: RunContext, request: TaskRequest | None = None) -> Path:
        """The task's workspace when it has one, else the agent's ``workdir`` or the run's."""
        if request is not None and request.workspace:
            return Path(request.workspace).resolve()
        return Path(definition.workdir or ctx.workdir).resolve()

    def secrets(self, definition: AgentDef, ctx: RunContext) -> dict[str, str]:
        """Resolved credentials as the env vars the CLI reads (seed names mapped)."""
        out = {}
        for key, value in ctx.resolve_credentials(definition.credentials).items():
            out[self.key_env.get(key, key)] = value
        return out

    def base_env(self, definition: AgentDef, ctx: RunContext, agent_id: str, home: Path) -> dict[str, str]:
        """A from-scratch environment: isolated HOME, a terminal, the run's labels, the pool's env."""
        path = os.pathsep.join([str(Path(self.require_binary(definition)).parent), _BASE_PATH])
        env = {"HOME": str(home), "PATH": path, "TERM": "xterm-256color", "LANG": "C.UTF-8",
               "COLORTERM": "truecolor", "NO_UPDATE_NOTIFIER": "1", "TMPDIR": str(home / "tmp")}
        env.update(ctx.label_env(agent_id))
        env.update(definition.env)
        return env
