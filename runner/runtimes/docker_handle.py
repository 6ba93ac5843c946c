"""One agent in one container: start it, wait for its server's /health, then talk HTTP.

``start()`` runs the container (detached, labelled, limited, port 8080 published on
127.0.0.1:<port docker picks>), then polls ``/health`` through the protocol's HTTP client until
the agent is ready (→ ``ready``), asks for a login (→ ``login_required`` event +
``LoginRequired``), failed, or the container died / the start timeout passed
(→ ``AgentFailure(INFRASTRUCTURE)`` with the container's last log lines). ``execute`` and
``health`` go to the HTTP client; a container that dies mid-task surfaces as
``AgentFailure(CRASH)`` (the executor retries it per policy). ``stop`` is ``docker stop -t``
(graceful: the server drains) or ``kill`` when forced, then ``rm``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runner.agents.handle import OutputCallback
from runner.agents.inflight import InFlight
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.docker.entry import (
    CONTAINER_GRPC_PORT,
    CONTAINER_PORT,
    CONTAINER_WORKSPACES,
    DEFINITION_ENV,
    GRPC_PORT_ENV,
    LIFETIME_ENV,
    WORKSPACES_ENV,
    definition_to_json,
)
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.protocol.auth import AuthConfig
from runner.protocol.connect import connect
from runner.runtimes.docker_workspace import in_container
from runner.runtimes.served import ServedHandle

if TYPE_CHECKING:
    from runner.runtimes.docker import DockerRuntime

S = AgentState
POLL = 0.02  # seconds between /health polls while starting
LOOK = 0.5  # seconds between looks at the container's state while starting


class DockerHandle(ServedHandle):
    """An agent container of one run (see the module docstring)."""

    def __init__(self, info: AgentInfo, runtime: DockerRuntime) -> None:
        super().__init__(info, runtime.ctx.bus, S.SPAWNED)
        self.runtime = runtime
        self.container_name = runtime.container_name(info)
        self.container_id: str | None = None
        self.endpoint: str | None = None
        self._client: Any = None  # the protocol's HttpHandle once the container answers
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._lifetime: threading.Timer | None = None
        self._in_flight = InFlight(self.lifecycle, self._lock)
        self._token = ""

    # ------------------------------------------------------------- start

    def _failure(self, kind: FailureKind, message: str) -> AgentFailure:
        return AgentFailure(kind, f"container {self.container_name}: {message}", agent_id=self.id)

    def start(self) -> None:
        if self._stopped.is_set():
            raise self._failure(FailureKind.CANCELLED, "stopped before it started")
        self.lifecycle.to(S.STARTING)
        if self.container_id:  # a restart (after a crash): the old container goes first
            self._discard()
        try:
            self._run_container()
            self._wait_ready()
        except LoginRequired:
            raise
        except AgentFailure as exc:
            if self.state not in (S.STOPPING, S.STOPPED, S.ERROR):
                self.lifecycle.to(S.ERROR, detail=str(exc))
            raise
        timeout = self.definition.resources.timeout
        if timeout:  # the container enforces it too (RUNNER_AGENT_LIFETIME): this is the fast path
            self._lifetime = threading.Timer(timeout, self._expire)
            self._lifetime.daemon = True
            self._lifetime.start()

    @property
    def definition(self) -> Any:
        assert self.info.definition is not None
        return self.info.definition

    def _run_container(self) -> None:
        rt, d = self.runtime, self.definition
        creds = rt.ctx.resolve_credentials(d.credentials)
        self._token = secrets.token_urlsafe(24)
        secret_env = {**creds, "RUNNER_AGENT_TOKEN": self._token}
        env = {DEFINITION_ENV: definition_to_json(d, sorted(creds), "/work"), "RUNNER_AGENT_ID": self.id,
               WORKSPACES_ENV: CONTAINER_WORKSPACES,
               "RUNNER_AGENT_PORT": str(CONTAINER_PORT), **rt.ctx.label_env(self.id),
               "RUNNER_RUNTIME": "docker"}
        if d.resources.timeout:
            env[LIFETIME_ENV] = str(d.resources.timeout)
        if rt.protocol == "grpc":
            env[GRPC_PORT_ENV] = str(CONTAINER_GRPC_PORT)
        # Secrets go through a 0600 env-file removed right after `docker run` read it: they are
        # never on a command line (`ps`, logs). `docker inspect` of the container does show them.
        fd, env_file = tempfile.mkstemp(prefix="runner-env-", text=True)
        try:
            with os.fdopen(fd, "w") as f:
                for key, value in secret_env.items():
                    if "\n" in value:
                        raise self._failure(FailureKind.CONFIG, f"credential {key} contains a newline")
                    f.write(f"{key}={value}\n")
            self.container_id = rt.run_container(self, env, env_file)
        finally:
            os.unlink(env_file)
        if self._stopped.is_set():  # stop() ran while `docker run` did: it could not see the id
            rt.remove_container(self.container_id, force=True)
            raise self._failure(FailureKind.CANCELLED, "stopped while starting")
        if rt.protocol == "grpc":
            self.endpoint = f"grpc://127.0.0.1:{rt.published_port(self.container_id, CONTAINER_GRPC_PORT)}"
        else:
            self.endpoint = f"http://127.0.0.1:{rt.published_port(self.container_id)}"

    def _connect(self) -> Any:

        # A private bus: the client's own state changes would otherwise appear twice.
        info = replace(self.info, endpoint=self.endpoint)
        client = connect(info, EventBus(), AuthConfig(token=self._token))
        client.sends_workspace = False  # the checkout is mounted: its path goes, not the checkout
        return client

    def _wait_ready(self) -> None:
        client = self._connect()
        try:
            self._poll_ready(client)
        except BaseException:
            client.stop(force=True)  # closes its connections
            raise
        self.concurrency = client.concurrency
        self._client = client
        self.lifecycle.to(S.READY)

    def _poll_ready(self, client: Any) -> None:
        deadline = time.monotonic() + self.runtime.start_timeout(self.definition)
        last = "no answer yet"
        next_look = time.monotonic() + LOOK
        while True:
            if self._stopped.is_set():
                raise self._failure(FailureKind.CANCELLED, "stopped while starting")
            try:
                reply = client.health_reply()
            except AgentFailure as exc:  # not listening yet (docker-proxy resets until it is)
                reply, last = None, str(exc)
            if reply is not None:
                if reply.get("loginRequired"):
                    instruction = str(reply.get("instruction") or reply.get("message") or "")
                    self.lifecycle.emit("login_required", detail=instruction, instruction=instruction)
                    self.lifecycle.to(S.ERROR, detail="login required")
                    raise LoginRequired(self.id, instruction)
                if reply.get("healthy"):
                    break
                last = str(reply.get("message") or reply.get("state"))
                if reply.get("state") not in ("spawned", "starting", "discovered"):
                    raise self._failure(FailureKind.INFRASTRUCTURE, f"agent failed to start: {last}")
            # `docker inspect` costs ~50 ms: look at the container only now and then
            if time.monotonic() < next_look:
                time.sleep(POLL)
                continue
            next_look = time.monotonic() + LOOK
            status = self.runtime.container_status(self.container_id or "")
            if status not in ("created", "running"):
                raise self._failure(FailureKind.INFRASTRUCTURE, f"exited before it was ready ({status}); "
                                    f"last output:\n{self.runtime.logs_tail(self.container_id or '')}")
            if time.monotonic() > deadline:
                raise self._failure(FailureKind.INFRASTRUCTURE, f"not ready in time ({last})")
            time.sleep(POLL)
        client.start()  # a last health check; takes the server's concurrency

    def _discard(self) -> None:
        if self._lifetime is not None:
            self._lifetime.cancel()
        if self._client is not None:
            self._client.stop(force=True)
            self._client = None
        if self.container_id:
            self.runtime.remove_container(self.container_id, force=True)
            self.container_id = None

    def _expire(self) -> None:
        self.lifecycle.emit("agent_expired", detail=f"lifetime {self.definition.resources.timeout}s reached")
        self.stop()

    # ------------------------------------------------------------- contract

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        client = self._client
        if self._stopped.is_set() or self.state in (S.STOPPING, S.STOPPED):
            raise self._failure(FailureKind.CANCELLED, "the agent was stopped")
        if client is None:
            raise self._failure(FailureKind.INFRASTRUCTURE, "execute() before start()")
        self._in_flight.begin()
        try:
            with in_container(self.runtime, self.container_id or "", request, self.id) as inside:
                return client.execute(inside, on_output)
        except AgentFailure as exc:
            raise self._classify(exc) from exc  # a dead container has moved it to error already
        finally:
            self._in_flight.end()

    def _classify(self, exc: AgentFailure) -> AgentFailure:
        """A dead container is a crash (retryable), whatever the HTTP client saw; a login
        failure inside becomes this handle's ``login_required`` event too."""
        if self._stopped.is_set():
            return self._failure(FailureKind.CANCELLED, "the agent was stopped")
        if exc.kind is FailureKind.LOGIN:
            self.lifecycle.emit("login_required", detail=str(exc), instruction=str(exc))
        if exc.kind in (FailureKind.INFRASTRUCTURE, FailureKind.PARSE):
            status = self.runtime.container_status(self.container_id or "")
            if status != "running":
                with self._lock:
                    if self.state in (S.BUSY, S.READY):
                        self.lifecycle.to(S.ERROR, detail=f"container {status}")
                return AgentFailure(FailureKind.CRASH, f"container {self.container_name} died mid-task "
                                    f"({status}): {exc}", agent_id=self.id, output=exc.output)
        return exc


    def stop(self, force: bool = False) -> None:
        """``docker stop -t`` (or ``kill`` when forced), then ``rm``; idempotent, never raises."""
        self._stopped.set()
        if self._lifetime is not None:
            self._lifetime.cancel()
        try:
            if not self.lifecycle.stop_if_live():
                return
        except Exception:  # noqa: BLE001 - a concurrent stop won the race
            return
        try:
            if self._client is not None:  # first: a running execute() returns (CANCELLED) at once
                self._client.stop(force=True)
            if self.container_id:
                self.runtime.remove_container(self.container_id, force=force)
        finally:
            try:
                self.lifecycle.to(S.STOPPED)
            except Exception:  # noqa: BLE001
                pass
