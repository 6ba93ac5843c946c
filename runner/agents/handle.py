"""The contract of a live agent: what the executor holds for each selected agent."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.agents.lifecycle import AgentState, Lifecycle
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus

OutputCallback = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Health:
    healthy: bool
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # cpu, memory, uptime, messageCount


class AgentHandle(abc.ABC):
    """One agent the run can send tasks to: a local PTY process, a container, a remote server.

    Handles are made by runtimes (spawned agents) or by the resolver (discovered agents with
    an endpoint). Every method may be called from any thread; ``stop`` may be called at any
    time, also while ``execute`` runs in another thread, and must make ``execute`` return
    (raising ``AgentFailure(CANCELLED)``) promptly.
    """

    #: how many tasks the agent takes at once
    concurrency: int = 1

    def __init__(self, info: AgentInfo, bus: EventBus, initial: AgentState) -> None:
        self.info = info
        self.lifecycle = Lifecycle(info.id, bus, initial)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def state(self) -> AgentState:
        return self.lifecycle.state

    @abc.abstractmethod
    def start(self) -> None:
        """Bring the agent to ``ready`` (or raise AgentFailure / LoginRequired)."""

    @abc.abstractmethod
    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        """Run one task; raise ``AgentFailure`` with the right ``FailureKind`` when it fails."""

    @abc.abstractmethod
    def health(self) -> Health:
        """A cheap liveness/readiness check."""

    def cancel(self, task_id: str) -> bool:
        """Stop one running task (its ``execute`` raises ``AgentFailure(CANCELLED)``) and keep
        the agent. True when it was cancelled; False when this handle cannot cancel a single
        task (e.g. one long-lived session) or no such task runs: the caller may stop the agent."""
        return False

    @abc.abstractmethod
    def stop(self, force: bool = False) -> None:
        """Stop gracefully (or at once when ``force``); idempotent; never raises."""
