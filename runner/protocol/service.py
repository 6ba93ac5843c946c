"""The transport-free core of the agent server: one wrapped ``AgentHandle``, served to HTTP and gRPC.

It owns what both protocols share: the busy gate (``handle.concurrency`` capped by ``max_tasks``; beyond it
a clear "busy" answer), draining on SIGTERM, live output fan-out to stream subscribers, health
and metrics in wire form. The transports only translate.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from typing import Any

import psutil

from runner.agents.handle import AgentHandle
from runner.agents.lifecycle import AgentEvent, AgentState
from runner.agents.model import TaskRequest, TaskResult
from runner.agents.usage import total as usage_total
from runner.errors import AgentFailure, FailureKind, LoginRequired, RunnerError
from runner.observe import trace
from runner.observe.metrics import from_health, prometheus_text
from runner.protocol.received import run_received
from runner.protocol.wire import BUSY, PROTOCOL_VERSION
from runner.workspace.transfer import LIMIT

_KEEP_FINISHED = 32  # outputs of the last tasks kept for late StreamOutput subscribers
_MAX_BUFFER = 1 << 20  # characters of one task's output kept for replay
HANDLE_TASK = "handle-task"  # the server's span of one task
_LIVE = (AgentState.READY, AgentState.BUSY, AgentState.ERROR)


class Busy(Exception):
    """Every slot of the agent is taken (HTTP 409 / RESOURCE_EXHAUSTED)."""


class Unavailable(Exception):
    """The server takes no tasks now: draining, agent starting, login needed (HTTP 503 / UNAVAILABLE)."""


class _Output:
    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.size = 0
        self.done = False


class Subscription:
    """Output chunks ``(task_id, text)`` for one stream; iterate until the stream ends."""

    def __init__(self, service: AgentService, task_id: str) -> None:
        self.task_id = task_id
        self._service = service
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()

    def put(self, item: tuple[str, str] | None) -> None:
        self._queue.put(item)

    def get(self, timeout: float) -> tuple[str, str] | None:
        """The next chunk; raises ``queue.Empty`` after ``timeout`` (so callers can check liveness)."""
        return self._queue.get(timeout=timeout)

    def close(self) -> None:
        self._service.unsubscribe(self)
        self._queue.put(None)


class AgentService:
    """Serves one started-or-starting agent handle."""

    def __init__(self, handle: AgentHandle, runtime_name: str = "local", max_tasks: int | None = None,
                 workspaces: str | None = None, max_workspace: int = LIMIT) -> None:
        self.handle = handle
        self.max_workspace = max_workspace  # bytes of a workspace a task may send (and of its change)
        # Where a task's `workspace` may be (the docker runtime's mount); None: tasks take none.
        self.workspaces = workspaces
        # The type's concurrency, capped by the operator (``--max-tasks``).
        self.concurrency = max(1, min(handle.concurrency, max_tasks or handle.concurrency))
        self.runtime_name = runtime_name
        self.draining = False
        self.started = time.time()
        self.message_count = 0
        self.usage: dict[str, Any] = {}  # the sum of the usage its answers reported
        self.login_instruction: str | None = None
        self.start_error: str | None = None
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active: dict[str, float] = {}
        self._outputs: collections.OrderedDict[str, _Output] = collections.OrderedDict()
        self._subs: list[Subscription] = []
        handle.lifecycle.bus.subscribe(self._on_login, "login_required")

    # ---------------------------------------------------------------- lifecycle

    def _on_login(self, event: AgentEvent) -> None:
        if event.agent_id == self.handle.id:
            self.login_instruction = event.detail or str(event.data.get("instruction", ""))

    def start_agent(self) -> None:
        """Start the wrapped agent; failures are kept for ``/health`` instead of raised."""
        try:
            self.handle.start()
        except LoginRequired as exc:
            self.login_instruction = exc.instruction
        except RunnerError as exc:
            self.start_error = str(exc)

    def drain(self, timeout: float) -> bool:
        """Take no new tasks, wait up to ``timeout`` for running ones, then stop the agent.

        Returns True when every task finished in time (none was cancelled).
        """
        self.draining = True
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))
            clean = not self._active
        # stop() makes a running execute() raise CANCELLED promptly (the handle contract).
        self.handle.stop(force=not clean)
        with self._idle:
            self._idle.wait_for(lambda: not self._active, timeout=5.0)
        for sub in list(self._subs):
            sub.close()
        return clean

    # ---------------------------------------------------------------- tasks

    def execute(self, request: TaskRequest, trace_context: Any = None) -> TaskResult:
        """Run one task on the agent; raises Busy, Unavailable or AgentFailure.

        ``trace_context``: the caller's trace context (``trace.extract`` of the request's headers or
        metadata); the ``handle-task`` span is its child, so the server's spans join the run's trace.
        """
        with trace.span(HANDLE_TASK, context=trace_context, **{"task.id": request.task_id},
                        agent_id=self.handle.id, agent_type=self.handle.info.type):
            return self._execute(request)

    def _execute(self, request: TaskRequest) -> TaskResult:
        self._check_available()
        if request.workspace is not None:
            self._check_workspace(request.workspace)
        if not self._slots.acquire(blocking=False):
            with self._lock:
                running = ", ".join(self._active) or "another task"
            raise Busy(f"{BUSY}: agent {self.handle.id} is running {running}")
        try:
            with self._lock:
                if request.task_id in self._active:
                    raise Busy(f"{BUSY}: task {request.task_id} is already running")
                self.message_count += 1
                self._active[request.task_id] = time.time()
                self._outputs[request.task_id] = _Output()
                self._outputs.move_to_end(request.task_id)
                while len(self._outputs) > _KEEP_FINISHED:
                    self._outputs.popitem(last=False)
            publish = lambda text: self._publish(request.task_id, text)  # noqa: E731
            if request.archive is not None:  # the task brings its workspace, streamed (protocol 3)

                result = run_received(self.handle, request, publish, self.max_workspace)
            else:
                result = self.handle.execute(request, publish)
            if result.usage:
                with self._lock:
                    self.usage = usage_total([self.usage, result.usage])
            return result
        except AgentFailure as exc:
            if self.draining and exc.kind == FailureKind.CANCELLED:
                # Cancelled by our shutdown, not by the caller: another agent may take the task.
                raise AgentFailure(FailureKind.INFRASTRUCTURE, f"the agent server shut down before task "
                                   f"{request.task_id} finished", agent_id=self.handle.id,
                                   output=exc.output) from exc
            raise
        finally:
            self._finish(request.task_id)
            self._slots.release()

    def cancel(self, task_id: str) -> bool:
        """Cancel a running task (its caller gets CANCELLED); False when it does not run here
        or the agent cannot cancel one task alone (a long-lived session)."""
        with self._lock:
            running = task_id in self._active
        return running and self.handle.cancel(task_id)

    def _check_workspace(self, path: str) -> None:
        """A task's workspace must be a directory under the server's workspace root."""
        root = self.workspaces
        where = os.path.realpath(path)
        if root is None:
            why = "this agent server takes no workspaces (it was started without a workspace root)"
        elif os.path.commonpath([where, os.path.realpath(root)]) != os.path.realpath(root):
            why = f"workspace {path} is not under {root}"
        elif not os.path.isdir(where):
            why = f"workspace {path} is not a directory"
        else:
            return
        raise AgentFailure(FailureKind.CONFIG, why, agent_id=self.handle.id)

    def _check_available(self) -> None:
        if self.draining:
            raise Unavailable(f"agent {self.handle.id} is shutting down")
        if self.login_instruction is not None:
            raise Unavailable(f"agent {self.handle.id} requires login: {self.login_instruction}")
        if self.start_error is not None:
            raise Unavailable(f"agent {self.handle.id} failed to start: {self.start_error}")
        if self.handle.state not in _LIVE:
            raise Unavailable(f"agent {self.handle.id} is {self.handle.state.value}, not ready")

    def _publish(self, task_id: str, text: str) -> None:
        with self._lock:
            out = self._outputs.get(task_id)
            if out is not None and out.size < _MAX_BUFFER:
                out.chunks.append(text)
                out.size += len(text)
            subs = [s for s in self._subs if s.task_id in ("", task_id)]
        for sub in subs:
            sub.put((task_id, text))

    def _finish(self, task_id: str) -> None:
        with self._idle:
            self._active.pop(task_id, None)
            if task_id in self._outputs:
                self._outputs[task_id].done = True
            ended = [s for s in self._subs if s.task_id == task_id]
            self._subs = [s for s in self._subs if s.task_id != task_id]
            self._idle.notify_all()
        for sub in ended:
            sub.put(None)

    # ---------------------------------------------------------------- streams

    def subscribe(self, task_id: str = "") -> Subscription:
        """Live output of one task (replayed from its start; ends with it) or of all tasks."""
        sub = Subscription(self, task_id)
        with self._lock:
            out = self._outputs.get(task_id) if task_id else None
            if out is not None:
                for chunk in out.chunks:
                    sub.put((task_id, chunk))
            if out is not None and out.done:
                sub.put(None)
            else:
                self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    # ---------------------------------------------------------------- health

    def health(self) -> dict[str, Any]:
        """The ``GET /health`` body (the gRPC HealthCheck carries the same fields)."""
        state = self.handle.state
        try:
            h = self.handle.health()
            healthy, message = h.healthy, h.message
        except Exception as exc:  # noqa: BLE001 - a failing probe is an unhealthy agent, not a server error
            healthy, message = False, f"health check failed: {exc}"
        if self.login_instruction is not None:
            healthy, message = False, f"login required: {self.login_instruction}"
        elif self.start_error is not None:
            healthy, message = False, self.start_error
        elif self.draining:
            healthy, message = False, "shutting down"
        elif state not in _LIVE:
            healthy, message = False, message or f"agent is {state.value}"
        with self._lock:
            active = len(self._active)
        info = self.handle.info
        return {
            "healthy": healthy, "message": message, "state": state.value,
            "loginRequired": self.login_instruction is not None,
            "instruction": self.login_instruction or "",
            "runtime": {"name": self.runtime_name, "type": info.type,
                        "activeAgents": 1 if state in _LIVE else 0},
            "agent": {"id": info.id, "name": info.name, "capabilities": list(info.capabilities)},
            "concurrency": self.concurrency, "activeTasks": active,
            "protocolVersion": PROTOCOL_VERSION, "maxWorkspaceBytes": self.max_workspace,
        }

    def prometheus(self) -> str:
        """``GET /metrics`` in the Prometheus text format: cpu %, memory, uptime, messages of this agent."""
        metrics = from_health(self.metrics())  # CPU seconds and uptime seconds → the common form
        metrics.update(self.usage)  # the usage series (runner.observe.metrics._SERIES)
        return prometheus_text({self.handle.id: metrics},
                               labels={"type": self.handle.info.type, "runtime": self.runtime_name})

    def metrics(self) -> dict[str, Any]:
        """The ``GET /metrics`` body: this server and its agent processes together."""
        cpu = 0.0
        memory = 0
        try:
            me = psutil.Process()
            for proc in [me, *me.children(recursive=True)]:
                try:
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                    memory += proc.memory_info().rss
                except psutil.Error:
                    continue  # a process that just exited
        except psutil.Error:
            pass
        out: dict[str, Any] = {"cpu": round(cpu, 3), "memory": memory, "uptime": round(time.time() - self.started, 3),
               "messageCount": self.message_count}
        if self.usage:
            out["usage"] = dict(self.usage)
        return out
