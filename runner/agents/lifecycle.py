"""The agent lifecycle state machine and the events it emits.

::

    discovered ─┐
                ├─> starting ─> ready <─> busy ─> error ─> stopping ─> stopped
    spawned ────┘                 │        └─────> ready     ^
                                  └────────────────────────────┘ (any live state may stop)

A transition not in ``TRANSITIONS`` is a bug in runner and raises ``InvalidTransition``.
Every transition emits an ``AgentEvent`` on the handle's ``EventBus``; some carry a named
event too (``agent_ready``, ``login_required``, ``agent_error``, ``agent_stopped``, ...).
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from runner.context import EventBus


class AgentState(enum.StrEnum):
    DISCOVERED = "discovered"
    SPAWNED = "spawned"
    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    ERROR = "error"
    STOPPING = "stopping"
    STOPPED = "stopped"


S = AgentState
TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    S.DISCOVERED: frozenset({S.STARTING, S.READY, S.STOPPING, S.STOPPED}),
    S.SPAWNED: frozenset({S.STARTING, S.STOPPING, S.STOPPED}),
    S.STARTING: frozenset({S.READY, S.ERROR, S.STOPPING}),
    S.READY: frozenset({S.BUSY, S.ERROR, S.STOPPING}),
    S.BUSY: frozenset({S.READY, S.ERROR, S.STOPPING}),
    S.ERROR: frozenset({S.STARTING, S.READY, S.STOPPING}),
    S.STOPPING: frozenset({S.STOPPED}),
    S.STOPPED: frozenset(),
}

# Named events emitted on entering a state (besides the generic ``state_changed``).
STATE_EVENTS = {
    S.READY: "agent_ready",
    S.BUSY: "agent_busy",
    S.ERROR: "agent_error",
    S.STOPPED: "agent_stopped",
    S.STARTING: "agent_starting",
}


class InvalidTransition(RuntimeError):
    """A state change the lifecycle does not allow: a bug, never user error."""


@dataclass(frozen=True, kw_only=True)
class AgentEvent:
    name: str  # state_changed | agent_ready | login_required | agent_error | agent_stopped | ...
    agent_id: str
    state: AgentState
    previous: AgentState | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Lifecycle:
    """The state of one agent handle; thread-safe."""

    def __init__(self, agent_id: str, bus: EventBus, initial: AgentState = S.SPAWNED) -> None:
        self.agent_id = agent_id
        self.bus = bus
        self._state = initial
        self._lock = threading.Lock()
        self.history: list[AgentState] = [initial]

    @property
    def state(self) -> AgentState:
        return self._state

    def to(self, new: AgentState, detail: str = "", **data: Any) -> None:
        with self._lock:
            old = self._state
            if new not in TRANSITIONS[old]:
                raise InvalidTransition(f"agent {self.agent_id}: {old.value} -> {new.value} is not allowed")
            self._state = new
            self.history.append(new)
        self.bus.publish(AgentEvent(name="state_changed", agent_id=self.agent_id, state=new,
                                    previous=old, detail=detail, data=dict(data)))
        if new in STATE_EVENTS:
            self.bus.publish(AgentEvent(name=STATE_EVENTS[new], agent_id=self.agent_id, state=new,
                                        previous=old, detail=detail, data=dict(data)))

    def emit(self, name: str, detail: str = "", **data: Any) -> None:
        """Emit a named event that is not a state change (``login_required``, ``output``...)."""
        self.bus.publish(AgentEvent(name=name, agent_id=self.agent_id, state=self._state,
                                    detail=detail, data=dict(data)))

    def stop_if_live(self) -> bool:
        """Move to stopping unless already stopping/stopped; True if the caller must stop it."""
        with self._lock:
            if self._state in (S.STOPPING, S.STOPPED):
                return False
        self.to(S.STOPPING)
        return True
