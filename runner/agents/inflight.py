"""Tasks in flight on one remote agent (a container, a pod) and the ready ↔ busy moves they
imply: the first task in moves ``ready → busy`` (``error → ready → busy`` when the agent is
tried again after an error), the last one out moves ``busy → ready``, or ``busy → error``
when the caller says the agent broke under it."""

from __future__ import annotations

import threading

from runner.agents.lifecycle import AgentState as S
from runner.agents.lifecycle import Lifecycle


class InFlight:
    def __init__(self, lifecycle: Lifecycle, lock: threading.Lock) -> None:
        self._lifecycle = lifecycle
        self._lock = lock  # the handle's own lock: its other state moves take it too
        self.count = 0

    def begin(self) -> None:
        with self._lock:
            self.count += 1
            if self._lifecycle.state == S.ERROR:
                self._lifecycle.to(S.READY, detail="retrying after an error")
            if self._lifecycle.state == S.READY:
                self._lifecycle.to(S.BUSY)

    def end(self, broken: str | None = None) -> None:
        """One task is over; ``broken``: why the agent is in error now (None: it is fine)."""
        with self._lock:
            self.count -= 1
            if self.count or self._lifecycle.state != S.BUSY:
                return
            if broken is not None:
                self._lifecycle.to(S.ERROR, detail=broken)
            else:
                self._lifecycle.to(S.READY)
