"""Agent limits enforced on every runtime through the handle contract.

* ``resources.timeout`` — maximum lifetime: an agent started longer ago is stopped (a task
  it runs fails as a ``timeout``; a later task of the run starts a fresh agent).
* ``resources.idleTimeout`` — an agent ``ready`` with nothing to do for longer is stopped
  (and started again if the run needs it later).

A task with no output for longer than its step's ``inactivity`` is a *hang*: that is the
handle's job (the local runtime kills the process group and raises ``FailureKind.HANG``).
``Limits.check`` is called by the health monitor's thread (``runner.execute.health``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from runner.agents.handle import AgentHandle
from runner.agents.lifecycle import AgentEvent, AgentState
from runner.errors import FailureKind

if TYPE_CHECKING:  # the manager owns the monitor (runner.execute.agents imports this module)
    from runner.execute.agents import AgentManager


class Limits:
    """Tracks when each handle started and last became idle; stops those over their limits."""

    def __init__(self, manager: AgentManager) -> None:
        self.manager = manager
        self._born: dict[int, float] = {}
        self._idle_since: dict[str, float] = {}
        self._lock = threading.Lock()
        self.close = manager.ctx.bus.subscribe(self._changed, "state_changed")
        # Check often enough to stop an agent within a quarter of its smallest limit.
        limits = [v for a in manager.pool.agents for v in _limits(a.definition.resources)]
        limits += [v for t in manager.pool.templates for v in _limits(t.definition.resources)]
        self.tick: float | None = max(0.01, min(limits) / 4) if limits else None

    def _changed(self, event: AgentEvent) -> None:
        with self._lock:
            if event.state is AgentState.READY:
                self._idle_since[event.agent_id] = time.monotonic()
            else:
                self._idle_since.pop(event.agent_id, None)

    def check(self) -> None:
        """Stop every agent over a limit now."""
        now = time.monotonic()
        for handle in self.manager.started().values():
            if handle.state not in (AgentState.READY, AgentState.BUSY) or self.manager.provided(handle.id):
                continue
            definition = handle.info.definition
            if definition is None:
                continue
            res = definition.resources
            born = self._born.setdefault(id(handle), now)
            if res.timeout is not None and now - born > res.timeout:
                self._stop(handle, FailureKind.TIMEOUT, "agent_lifetime_exceeded",
                           f"exceeded its maximum lifetime of {res.timeout:g}s")
                continue
            with self._lock:
                idle = self._idle_since.get(handle.id)
            if (res.idle_timeout is not None and handle.state is AgentState.READY and idle is not None
                    and now - idle > res.idle_timeout):
                self._stop(handle, FailureKind.CANCELLED, "agent_idle_timeout",
                           f"idle for longer than {res.idle_timeout:g}s")

    def _stop(self, handle: AgentHandle, kind: FailureKind, event: str, reason: str) -> None:
        handle.lifecycle.emit(event, detail=reason)
        self.manager.discard(handle, kind, f"stopped: {reason}")


def _limits(res: object) -> list[float]:
    return [v for v in (getattr(res, "timeout", None), getattr(res, "idle_timeout", None)) if v]
