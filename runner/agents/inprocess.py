"""An agent that is a Python function, for the Python API (``runner.api.apply(handles=...)``).

The function gets the ``TaskRequest`` and returns a ``TaskResult``, a dict with ``result`` /
``confidence`` / ``reasoning``, or any other value (the result). It may raise
``AgentFailure`` to report a failure of a given kind. Used by embedders, benchmarks and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from runner.agents.handle import AgentHandle, Health, OutputCallback
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, FailureKind

TaskFunction = Callable[[TaskRequest], Any]


class PythonAgent(AgentHandle):
    def __init__(self, agent_id: str, fn: TaskFunction, *, capabilities: tuple[str, ...] = (),
                 expertise: Mapping[str, float] | None = None, concurrency: int = 1_000_000,
                 bus: EventBus | None = None) -> None:
        info = AgentInfo(id=agent_id, name=agent_id, type="python", capabilities=tuple(capabilities),
                         expertise=dict(expertise or {}), source="direct")
        super().__init__(info, bus or EventBus(), AgentState.DISCOVERED)
        self.fn = fn
        self.concurrency = concurrency
        self._busy = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        #: set when the run stops this agent; long functions may poll it to end early
        self.stopped = self._stopped

    def start(self) -> None:
        if self.state in (AgentState.DISCOVERED, AgentState.ERROR):
            self.lifecycle.to(AgentState.READY)

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        if self._stopped.is_set():
            raise AgentFailure(FailureKind.CANCELLED, "agent stopped", agent_id=self.id)
        with self._lock:
            self._busy += 1
            if self._busy == 1 and self.state is AgentState.READY:
                self.lifecycle.to(AgentState.BUSY)
        try:
            value = self.fn(request)
        except AgentFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - the function's error is the task's failure
            raise AgentFailure(FailureKind.TASK, f"{type(exc).__name__}: {exc}", agent_id=self.id) from exc
        finally:
            with self._lock:
                self._busy -= 1
                if self._busy == 0 and self.state is AgentState.BUSY:
                    self.lifecycle.to(AgentState.READY)
        if isinstance(value, TaskResult):
            return value
        if isinstance(value, dict) and "result" in value:
            return TaskResult(task_id=request.task_id, result=value["result"],
                              confidence=value.get("confidence"), reasoning=str(value.get("reasoning", "")))
        return TaskResult(task_id=request.task_id, result=value)

    def health(self) -> Health:
        return Health(healthy=not self._stopped.is_set())

    def stop(self, force: bool = False) -> None:
        self._stopped.set()
