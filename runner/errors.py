"""The exception tree of runner, and the exit codes the CLI maps it to.

Every error runner raises on purpose is a ``RunnerError``; the CLI handles them once
(``runner.cli``) and prints one line (or one line per diagnostic) with a stable exit code::

    RunnerError                       exit 1  (base; never raised bare)
    ├── SpecError                     exit 2  invalid pattern / pool / inputs; carries Diagnostics
    ├── UsageError                    exit 2  bad command-line usage
    ├── ConfigurationError            exit 2  wrong credentials, auth refused, unknown plug-in
    ├── StepFailed(kind)              (recorded)  a step failed or a quality gate was not met
    ├── AgentFailure(kind)            (recorded)  one attempt of a task on one agent failed
    ├── Detached                      (recorded)  --detach-on-approval: a step waits at its gate (exit 75)
    ├── WorkspaceError                exit 1  a workspace could not be made, captured or landed
    ├── InfrastructureError           exit 3  a runtime, registry, agent or git source's remote could not be reached
    │   └── LoginRequired             exit 3  an agent CLI needs a login a human must do
    └── Interrupted                   exit 130 (SIGINT) / 143 (SIGTERM)

Failures of one attempt of a task on one agent are ``AgentFailure``s, of a whole step
``StepFailed``; both carry a ``FailureKind``, the one vocabulary of failure from the pattern
file (``retry.on``) through retries, ``result.json`` and the journal (as the kind's value).
Neither reaches the CLI: the executor records them, decides on retries by their kind, and
maps the kinds of the failed steps to the run's status and exit code (1, or 2 when every
failure was ``config``, 3 when every one was ``infrastructure`` / ``login``).

Any other exception reaching the CLI is a bug: it says so and exits with ``EXIT_INTERNAL``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INFRA = 3
EXIT_INTERNAL = 4
EXIT_WAITING = 75  # --detach-on-approval: a step waits for `runner approve` (EX_TEMPFAIL: resume later)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away (`| head`)


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One problem in one file, rendered as ``file:line:col: $.path: message``."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    path: str  # JSON-path-like key path, e.g. ``$.steps[2].retry.limit``
    message: str

    def render(self) -> str:
        """One line: a line break in the path or message (a value quoted from the file) is ``\\n``."""
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return _one_line(f"{where}: {self.path}: {self.message}")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n") if "\n" in text or "\r" in text else text


class RunnerError(Exception):
    """Base of every error runner raises on purpose."""

    exit_code = EXIT_FAILED

    def render(self) -> str:
        return str(self)


class SpecError(RunnerError):
    """One or more files are invalid; ``diagnostics`` holds every problem found."""

    exit_code = EXIT_INVALID

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.diagnostics)
        lines = [d.render() for d in self.diagnostics]
        lines.append(f"{n} error{'s' if n != 1 else ''} found")
        return "\n".join(lines)


class UsageError(RunnerError):
    exit_code = EXIT_INVALID


class ConfigurationError(RunnerError):
    exit_code = EXIT_INVALID


class Detached(RunnerError):
    """A step reached its approval gate with no decision and the run was asked to exit there
    (``--detach-on-approval``): recorded as the step's ``waiting``, never reaching the CLI.
    ``deadline``: when the gate's timeout ends (epoch seconds)."""

    exit_code = EXIT_WAITING

    def __init__(self, message: str, *, deadline: float | None = None) -> None:
        super().__init__(message)
        self.deadline = deadline


class WorkspaceError(RunnerError):
    """A workspace could not be made, its change captured or landed (git failed, a hostile
    patch, a dirty tree refused)."""

    exit_code = EXIT_FAILED


class InfrastructureError(RunnerError):
    exit_code = EXIT_INFRA


class LoginRequired(InfrastructureError):
    """An agent needs a human to log in; ``instruction`` is what the CLI showed (URL, command)."""

    def __init__(self, agent_id: str, instruction: str) -> None:
        self.agent_id = agent_id
        self.instruction = instruction
        super().__init__(f"agent {agent_id} requires login: {instruction}")


class Interrupted(RunnerError):
    exit_code = EXIT_INTERRUPTED

    def __init__(self, signal_name: str = "SIGINT") -> None:
        self.signal_name = signal_name
        if signal_name == "SIGTERM":
            self.exit_code = EXIT_TERMINATED
        super().__init__(f"interrupted by {signal_name}")


class FailureKind(enum.StrEnum):
    """Why one attempt failed; retry policies name these (``retry.on``)."""

    INFRASTRUCTURE = "infrastructure"  # could not reach / start the agent
    CRASH = "crash"  # the agent process died mid-task
    TIMEOUT = "timeout"  # the task exceeded its time limit
    HANG = "hang"  # no output for longer than the inactivity limit
    TASK = "task"  # the agent ran and reported a failure
    PARSE = "parse"  # the agent's output could not be understood
    VALIDATION = "validation"  # the answer failed the step's validation (confidence)
    LOGIN = "login"  # the agent needs a login
    CONFIG = "config"  # credentials refused, bad configuration: retrying cannot help
    CANCELLED = "cancelled"  # stopped by the runner (race lost, interrupt)
    VERIFY = "verify"  # the step's verify command failed in the agent's workspace
    NO_CHANGE = "no-change"  # the agent changed nothing (``workspace.requireChange``)
    DENIED = "denied"  # the agent reported denied permissions / wrote where it may not
    LAND = "land"  # the step's chosen change could not be landed (conflict, dirty tree, hostile patch)
    BUDGET = "budget"  # a cost, token or time budget was reached: the step stopped (never retried)


class StepFailed(RunnerError):
    """A step could not produce an acceptable output; ``kind`` says why (recorded on the step)."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class AgentFailure(RunnerError):
    """One attempt of a task on one agent failed."""

    def __init__(self, kind: FailureKind, message: str, *, agent_id: str = "", output: str = "") -> None:
        self.kind = kind
        self.agent_id = agent_id
        self.output = output
        super().__init__(f"{agent_id + ': ' if agent_id else ''}{message}")


def as_failure(exc: BaseException, agent_id: str = "") -> AgentFailure:
    """``exc`` as an ``AgentFailure`` of the documented kind: the one place an exception gets its
    ``FailureKind``. An ``AgentFailure`` is itself; ``StepFailed`` keeps its kind; a login a human
    must do is ``login``; invalid files and refused configuration are ``config``; an unreachable
    runtime / registry / agent is ``infrastructure``; any other ``RunnerError`` is ``task``.
    Anything else (a bug in runner, or the machine out of a resource such as file descriptors
    while runner drives an agent) is ``infrastructure`` with a message saying ``internal error``.
    """
    if isinstance(exc, AgentFailure):
        return exc
    if isinstance(exc, StepFailed):
        kind, message = exc.kind, str(exc)
    elif isinstance(exc, LoginRequired):
        kind, message = FailureKind.LOGIN, exc.instruction
    elif isinstance(exc, SpecError):  # one line per problem, without the "N errors found" total
        kind, message = FailureKind.CONFIG, "; ".join(d.render() for d in exc.diagnostics)
    elif isinstance(exc, ConfigurationError | UsageError):
        kind, message = FailureKind.CONFIG, exc.render()
    elif isinstance(exc, InfrastructureError):
        kind, message = FailureKind.INFRASTRUCTURE, exc.render()
    elif isinstance(exc, RunnerError):
        kind, message = FailureKind.TASK, exc.render()
    else:
        kind, message = FailureKind.INFRASTRUCTURE, f"internal error: {type(exc).__name__}: {exc}"
    failure = AgentFailure(kind, message, agent_id=agent_id)
    failure.__cause__ = exc
    return failure
