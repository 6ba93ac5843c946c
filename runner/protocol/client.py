"""Handles for agents that already run elsewhere and are reached over HTTP or gRPC: the base
both clients share (``RemoteHandle``).

``runner.protocol.connect.connect(info, bus, auth)`` picks the client by the endpoint's scheme
(``http://``, ``https://``, ``grpc://``, ``grpcs://``). The returned handle starts ``discovered``;
``start()`` is a health check that makes it ``ready``. Failures are translated at this edge
into ``AgentFailure`` kinds the retry policy understands::

    connect refused / reset / DNS / server died mid-call   INFRASTRUCTURE (retryable)
    busy (HTTP 409 / RESOURCE_EXHAUSTED)                   INFRASTRUCTURE, message "busy: ..."
    read timeout / deadline exceeded                       TIMEOUT
    agent-reported failure ({"error": {...}} / ABORTED)    the kind the server names (default TASK)
    malformed reply (bad JSON, missing/wrong fields)       PARSE, naming agent and endpoint
    token refused (401 / UNAUTHENTICATED), bad TLS trust   CONFIG (retrying cannot help)
"""

from __future__ import annotations

import abc
import threading
from urllib.parse import urlsplit, urlunsplit

from runner.agents.handle import AgentHandle, Health, OutputCallback
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.protocol.auth import AuthConfig
from runner.protocol.sending import incoming, outgoing
from runner.protocol.wire import BUSY

SCHEMES = ("http", "https", "grpc", "grpcs")
READ_GRACE = 5.0  # seconds a reply may take beyond the task's own timeout (the server enforces it)
CONNECT_TIMEOUT = 5.0
HEALTH_TIMEOUT = 5.0

S = AgentState


def display_endpoint(endpoint: str) -> str:
    """The endpoint without any ``user:password@`` part, for messages."""
    parts = urlsplit(endpoint)
    if parts.username is None and parts.password is None:
        return endpoint
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


class RemoteHandle(AgentHandle):
    """Shared lifecycle and error wording of the HTTP and gRPC clients.

    ``read_grace``: seconds a reply may take beyond the task's timeout before the call is
    abandoned as TIMEOUT (the server enforces the task timeout itself and says so first).

    Subclasses implement ``_call_execute``, ``_call_cancel`` and ``_call_health`` (raising
    ``AgentFailure``) and
    ``_close`` (cancel what is in flight; release connections).

    A task with a ``workspace`` (a checkout on this machine) is sent with the checkout packed in
    and its change applied there after (``runner.protocol.sending``), unless ``sends_workspace``
    is false: the docker runtime mounts the checkout and sends its path instead.
    """

    sends_workspace = True

    def __init__(self, info: AgentInfo, bus: EventBus, auth: AuthConfig | None) -> None:
        super().__init__(info, bus, S.DISCOVERED)
        self.auth = auth or AuthConfig()
        self.endpoint = info.endpoint or ""
        self.shown = display_endpoint(self.endpoint)
        self._lock = threading.Lock()
        self._running = 0
        self._stopped = threading.Event()
        self.read_grace = READ_GRACE
        self.server_version = ""  # the server's protocolVersion, known after start()
        self.server_max_workspace: int | None = None  # its cap of a workspace sent (version 2)

    # ------------------------------------------------------------- errors

    def failure(self, kind: FailureKind, message: str) -> AgentFailure:
        return AgentFailure(kind, f"agent {self.id} at {self.shown}: {message}", agent_id=self.id)

    def busy(self, message: str) -> AgentFailure:
        """INFRASTRUCTURE with ``busy = True``: the agent is fine, only all its slots are taken."""
        exc = self.failure(FailureKind.INFRASTRUCTURE, message if message.startswith(BUSY) else f"{BUSY}: {message}")
        exc.busy = True  # type: ignore[attr-defined]
        return exc

    def malformed(self, detail: str) -> AgentFailure:
        return AgentFailure(FailureKind.PARSE, f"agent {self.id} at {self.shown} sent a malformed reply: "
                            f"{detail}", agent_id=self.id)

    def cancelled(self, why: str | None = None) -> AgentFailure:
        return self.failure(FailureKind.CANCELLED,
                            f"the call was cancelled: {why or 'the agent handle was stopped'}")

    # ------------------------------------------------------------- contract

    def start(self) -> None:
        if self.state in (S.STOPPING, S.STOPPED):
            raise self.cancelled()
        if self.state != S.STARTING:
            self.lifecycle.to(S.STARTING)
        try:
            reply = self._call_health()
        except AgentFailure as exc:
            self.lifecycle.to(S.ERROR, detail=str(exc))
            raise
        if reply.get("loginRequired"):
            instruction = str(reply.get("instruction") or reply.get("message") or "")
            self.lifecycle.emit("login_required", detail=instruction, instruction=instruction)
            self.lifecycle.to(S.ERROR, detail="login required")
            raise LoginRequired(self.id, instruction)
        if not reply.get("healthy"):
            message = str(reply.get("message") or "unhealthy")
            self.lifecycle.to(S.ERROR, detail=message)
            raise self.failure(FailureKind.INFRASTRUCTURE, f"not healthy: {message}")
        self.server_version = str(reply.get("protocolVersion") or "")
        cap = reply.get("maxWorkspaceBytes")
        self.server_max_workspace = cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None
        concurrency = reply.get("concurrency")
        if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency > 0:
            self.concurrency = concurrency
        self.lifecycle.to(S.READY)

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        request, root = outgoing(self, request)
        try:
            result = self._send(request, on_output)
        finally:
            if request.archive is not None:
                request.archive.close()  # the packed file: anonymous, gone once closed
        return incoming(self, root, result) if root is not None else result

    def _send(self, request: TaskRequest, on_output: OutputCallback | None) -> TaskResult:
        self._enter()
        try:
            result = self._call_execute(request, on_output)
        except AgentFailure as exc:
            self._leave(exc)
            if self._stopped.is_set():
                raise self.cancelled() from exc
            raise
        except BaseException:
            self._leave(None)
            raise
        self._leave(None)
        if result.task_id != request.task_id:
            raise self.malformed(f"taskId {result.task_id!r} answers task {request.task_id!r}")
        return result

    def health_reply(self) -> dict:
        """The server's full health reply (HTTP JSON shape); raises AgentFailure when unreachable."""
        return self._call_health()

    def health(self) -> Health:
        try:
            reply = self._call_health()
        except AgentFailure as exc:
            return Health(healthy=False, message=str(exc))
        return Health(healthy=bool(reply.get("healthy")), message=str(reply.get("message", "")),
                      metrics=dict(reply.get("metrics") or {}))

    def cancel(self, task_id: str) -> bool:
        """Ask the server to cancel a task this handle sent (never raises)."""
        if self._stopped.is_set():
            return False
        try:
            return self._call_cancel(task_id)
        except AgentFailure:
            return False

    def stop(self, force: bool = False) -> None:
        self._stopped.set()
        try:
            self._close()
        except Exception:  # noqa: BLE001 - stop never raises
            pass
        try:
            if self.lifecycle.stop_if_live():
                self.lifecycle.to(S.STOPPED)
        except Exception:  # noqa: BLE001 - a concurrent stop won the race
            pass

    def grace(self, request: TaskRequest) -> float:
        """Seconds the reply may take beyond the task's timeout: ``read_grace``, plus a second per
        4 MiB of a workspace sent (the server unpacks it, and packs the change, outside the task's time)."""
        return self.read_grace + ((request.archive.size or 0) / (4 << 20) if request.archive is not None else 0.0)

    # ------------------------------------------------------------- state bookkeeping

    def _enter(self) -> None:
        with self._lock:
            if self._stopped.is_set() or self.state in (S.STOPPING, S.STOPPED):
                raise self.cancelled()
            if self.state in (S.DISCOVERED, S.STARTING):
                raise self.failure(FailureKind.INFRASTRUCTURE, "execute() before start()")
            self._running += 1
            if self._running == 1:
                if self.state == S.ERROR:
                    self.lifecycle.to(S.READY, detail="retrying after an error")
                self.lifecycle.to(S.BUSY)

    def _leave(self, exc: AgentFailure | None) -> None:
        with self._lock:
            self._running -= 1
            if self._running or self.state != S.BUSY:
                return
            # The server went away: the next attempt must not assume the agent is fine.
            if exc is not None and exc.kind in (FailureKind.INFRASTRUCTURE, FailureKind.CONFIG) \
                    and not getattr(exc, "busy", False):
                self.lifecycle.to(S.ERROR, detail=str(exc))
            else:
                self.lifecycle.to(S.READY)

    # ------------------------------------------------------------- transport

    @abc.abstractmethod
    def _call_execute(self, request: TaskRequest, on_output: OutputCallback | None) -> TaskResult:
        """Send one task; raise AgentFailure (already classified)."""

    @abc.abstractmethod
    def _call_cancel(self, task_id: str) -> bool:
        """Cancel one task sent by this handle; True when its execute will return CANCELLED."""

    @abc.abstractmethod
    def _call_health(self) -> dict:
        """The server's health reply in the HTTP JSON shape; raise AgentFailure when unreachable."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Cancel in-flight calls and release connections."""
