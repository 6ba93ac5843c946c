"""The runtime contract: something that can start agents (a PTY, a container, a pod).

A runtime declares as data what ``runner validate`` needs to know without starting anything:
``options_schema`` (its ``runtimes[]`` entry), ``agent_options_schema`` (what it reads from an
agent's ``options:``) and ``extras``. (Runtimes have no capabilities dataclass: the engine
never branches on which runtime it talks to; ``available()`` and ``can_run()`` say the rest.) ``gc`` removes
what dead runs of this runtime left behind (``runner gc`` calls it for every runtime).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.agents.types import AGENT_TYPES
from runner.context import RunContext
from runner.errors import ConfigurationError
from runner.plugins import check_options, closed, load
from runner.spec.models import AgentDef

if TYPE_CHECKING:
    from runner.workspace.verify import Sandbox

#: the keys of a ``runtimes[]`` entry that are the pool's, not the runtime's options
ENTRY_KEYS = ("type", "priority", "maxAgents")


@dataclass(frozen=True, kw_only=True)
class GcRequest:
    """What ``runner gc`` asks of every runtime."""

    state_dir: Path = Path(".runner")  # where run journals are: which runs are alive
    run_id: str | None = None  # only this run's leftovers
    dry_run: bool = False  # list, remove nothing
    all_hosts: bool = False  # also leftovers of other hosts (their runs cannot be checked)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True, kw_only=True)
class Leftover:
    """One thing a dead run left (``runner gc`` prints one line each)."""

    kind: str  # process | container | volume | network | pod | secret
    name: str
    run_id: str
    status: str  # removed | killed | would remove | FAILED: why

    def line(self) -> str:
        return f"{self.kind}\t{self.name}\trun {self.run_id or '?'}\t{self.status}"


@dataclass(frozen=True, kw_only=True)
class GcResult:
    """What one runtime's ``gc`` found; ``skipped``: why it could not look (one line)."""

    leftovers: tuple[Leftover, ...] = ()
    skipped: str | None = None


class Runtime(abc.ABC):
    """Starts and stops agents of one run. One instance per run and runtime config."""

    name: ClassVar[str] = ""
    options_schema: ClassVar[dict[str, Any]] = closed({})  # the runtime's keys of a `runtimes[]` entry
    agent_options_schema: ClassVar[dict[str, Any]] = closed({})  # keys it reads from an agent's `options:`
    extras: ClassVar[dict[str, str]] = {}  # pip extra -> the module it provides (imported lazily)

    def __init__(self, ctx: RunContext, options: Mapping[str, Any]) -> None:
        check_options(f"{self.name} runtime", self.options_schema, dict(options))
        self.ctx = ctx
        self.options = dict(options)

    @classmethod
    def needs(cls, options: Mapping[str, Any]) -> dict[str, str]:
        """The extras (``{extra: module}``) this runtime needs with these options."""
        return dict(cls.extras)

    @staticmethod
    def type_runs(definition: AgentDef) -> bool:
        """Whether the agent's type can run it in its mode (the type's capabilities say so)."""
        if definition.type not in AGENT_TYPES:
            return False
        try:
            caps = load("agent type", AGENT_TYPES, definition.type).capabilities
        except ConfigurationError:
            return False
        return bool(caps.long_lived if definition.mode == "long-lived" else caps.per_task)

    @abc.abstractmethod
    def available(self) -> str | None:
        """None if this runtime can start agents here; else why not (one line)."""

    @abc.abstractmethod
    def can_run(self, info: AgentInfo) -> bool:
        """Whether this runtime can start this agent (its type, its definition)."""

    @abc.abstractmethod
    def spawn(self, info: AgentInfo) -> AgentHandle:
        """Create the handle (state ``spawned``); the caller calls ``start()`` on it."""

    @classmethod
    def describe_spawn(cls, info: AgentInfo, options: Mapping[str, Any]) -> str:
        """What starting ``info`` would create, for ``runner plan`` (one line, "" = nothing to add).

        Called without an instance: it must start nothing, contact nothing, print no secret.
        """
        return ""

    def verify_sandbox(self, info: AgentInfo) -> Callable[[Path], Sandbox] | None:
        """Where a step's ``verify`` runs for this runtime's agent ``info``: a factory taking the
        attempt's checkout root; None (the default): on the host, in the checkout."""
        return None

    @abc.abstractmethod
    def cleanup(self) -> list[str]:
        """Remove everything of this run still around; returns what could not be removed."""

    @classmethod
    def gc(cls, options: Mapping[str, Any] | None, request: GcRequest) -> GcResult:
        """Remove what dead runs of this runtime left (never a live run's); ``options``: the pool's
        entry for this runtime, None when no pool names it. Default: nothing to collect."""
        return GcResult()
