"""The runtime contract: something that can start agents (a PTY, a container, a pod)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.context import RunContext


@dataclass(frozen=True, kw_only=True)
class RuntimeCapabilities:
    """What the engine may assume about a runtime (read, never ``isinstance``-checked)."""

    remote: bool = False  # agents run outside this process tree and are reached over the network
    isolation: str = "process"  # process | container | pod
    startup_seconds: float = 0.0  # typical time to ready, for plan estimates


class Runtime(abc.ABC):
    """Starts and stops agents of one run. One instance per run and runtime config."""

    name: str = ""
    capabilities = RuntimeCapabilities()

    def __init__(self, ctx: RunContext, options: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.options = dict(options)

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

    @abc.abstractmethod
    def cleanup(self) -> list[str]:
        """Remove everything of this run still around; returns what could not be removed."""
