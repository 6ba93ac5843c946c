"""The agent-type contract: how one kind of agent program is started, driven and read.

An agent type knows a program (``command`` wraps any; ``claude``, ``codex``, ``gemini``,
``aider`` know their CLIs). Runtimes use it to build the process; the PTY driver uses its
detectors to tell starting / ready / login-required / busy / done from the screen; the
executor gets a ``TaskResult`` from ``parse_result``.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runner.agents.model import TaskRequest, TaskResult
from runner.context import RunContext
from runner.plugins import closed
from runner.spec.diagnose import schema_problems
from runner.spec.models import AgentDef

if TYPE_CHECKING:
    from runner.agents.types.screen import ScreenDetector


@dataclass(frozen=True, kw_only=True)
class TypeCapabilities:
    """What the engine may assume about a type (read, never ``isinstance``-checked)."""

    per_task: bool = True  # can run one process per task
    long_lived: bool = False  # can keep one interactive session and feed it tasks
    concurrency: int = 1  # tasks one agent takes at once (an agent server's limit)


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """A process to start: argv, environment additions, working directory, stdin text."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    stdin: str | None = None  # per-task: text to send, then EOF


@dataclass(frozen=True, kw_only=True)
class Detectors:
    """Regexes run over the (ANSI-stripped) output to tell the program's state."""

    ready: re.Pattern[str] | None = None
    login: re.Pattern[str] | None = None
    done: re.Pattern[str] | None = None
    error: re.Pattern[str] | None = None


class AgentType(abc.ABC):
    """One kind of agent program. Declared as data: ``capabilities`` (which modes the runtimes
    may use), ``options_schema`` (the keys it reads from an agent's ``options:``, checked by
    ``runner validate``) and ``extras``. The hooks below the abstract methods have defaults."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[TypeCapabilities] = TypeCapabilities()
    options_schema: ClassVar[dict[str, Any]] = closed({})
    extras: ClassVar[dict[str, str]] = {}  # pip extra -> the module it provides (imported lazily)

    @abc.abstractmethod
    def validate(self, definition: AgentDef) -> list[str]:
        """Problems with this definition for this type (messages for the pool's diagnostics)."""

    @abc.abstractmethod
    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        """The process for one task (per-task mode) or for the session (``request`` None)."""

    @abc.abstractmethod
    def detectors(self, definition: AgentDef) -> Detectors:
        """How to read this program's screen."""

    @abc.abstractmethod
    def format_task(self, definition: AgentDef, request: TaskRequest) -> str:
        """What to type into a long-lived session for one task (ends with a newline)."""

    @abc.abstractmethod
    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        """Turn what the program printed into a result, or raise AgentFailure(PARSE/TASK)."""

    def option_problems(self, definition: AgentDef) -> list[str]:
        """Problems with the values of the options this type declares (``options_schema``).
        Unknown keys are ``runner validate``'s to report: the runtimes read some keys too."""
        relaxed = _relaxed(self.options_schema)
        return [f"options{path[1:]}: {message}" for path, message, _ in schema_problems(relaxed, definition.options)]

    # --- hooks with defaults -----------------------------------------------------------
    def screen_detector(self, definition: AgentDef) -> ScreenDetector | None:
        """A full-screen detector (a TUI CLI) for the screen driver; None: plain regexes suffice."""
        return None

    def approve_prompts(self, definition: AgentDef) -> bool:
        """Whether the screen driver answers an interactive approval prompt yes (else no)."""
        return False

    def cleanup(self, definition: AgentDef, ctx: RunContext, agent_id: str) -> None:
        """Remove what the type made for the agent (a seeded config home) once it stopped."""

    def task_timeout(self, definition: AgentDef) -> float | None:
        """The wall-clock limit of a task whose step sets none (None: no limit)."""
        return None

    def stall_timeout(self, definition: AgentDef) -> float | None:
        """The stall watchdog of a task whose step sets no ``inactivity`` (None: off)."""
        return None


_RELAXED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _relaxed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that lets other keys through (one copy per schema, kept with it)."""
    entry = _RELAXED.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _RELAXED[id(schema)] = (schema, {**schema, "additionalProperties": True})
    return entry[1]
