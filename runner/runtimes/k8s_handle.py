"""One agent in one Pod: create its Secret and Pod, wait for Running + Ready, then talk HTTP.

``start()`` creates the agent's Secret (bearer token + resolved credentials) and Pod, watches
the Pod until it is Running and Ready and the agent's ``/health`` answers healthy (→ ``ready``),
asks for a login (→ ``login_required`` event + ``LoginRequired``), the Pod failed, or the start
timeout passed (→ ``AgentFailure(INFRASTRUCTURE)`` with the phase, conditions and the Pod's
events). ``execute``/``health`` go to the protocol's HTTP client at the pod IP or through a
port-forward. ``stop()`` deletes the Pod with the grace period (the server drains), or at once
(grace 0) when forced, then the Secret.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runner.agents.handle import OutputCallback
from runner.agents.inflight import InFlight
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, ConfigurationError, FailureKind, LoginRequired, RunnerError
from runner.protocol.auth import AuthConfig
from runner.protocol.connect import connect
from runner.runtimes import k8s_forward
from runner.runtimes.k8s_manifests import TOKEN_KEY, object_name, pod_manifest, secret_manifest
from runner.runtimes.served import ServedHandle

if TYPE_CHECKING:
    from runner.runtimes.kubernetes import KubernetesRuntime

S = AgentState
SLICE = 1.0  # seconds per watch request; between them the agent's /health is probed


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def describe(pod: Any) -> str:
    """``phase Pending, Ready=False (ContainersNotReady), container agent waiting: ErrImagePull``."""
    if pod is None or pod.status is None:
        return "no pod status yet (not scheduled)"
    st = pod.status
    parts = [f"phase {st.phase or 'unknown'}"]
    for c in st.conditions or []:
        if c.type == "Ready":
            parts.append(f"Ready={c.status}" + (f" ({c.reason})" if c.reason else ""))
    for cs in st.container_statuses or []:
        state = cs.state
        if state is not None and state.waiting is not None:
            parts.append(f"container {cs.name} waiting: {state.waiting.reason}")
        if state is not None and state.terminated is not None:
            parts.append(f"container {cs.name} terminated: {state.terminated.reason} "
                         f"(exit {state.terminated.exit_code})")
    if st.reason or st.message:
        parts.append(f"{st.reason or ''} {st.message or ''}".strip())
    return ", ".join(parts)


class KubernetesHandle(ServedHandle):
    """An agent Pod of one run (see the module docstring)."""

    def __init__(self, info: AgentInfo, runtime: KubernetesRuntime) -> None:
        super().__init__(info, runtime.ctx.bus, S.SPAWNED)
        self.runtime = runtime
        self.pod_name = object_name(runtime.ctx.run_id, info.id)
        self.endpoint: str | None = None
        self._client: Any = None
        self._forward: Any = None
        self._token = secrets.token_urlsafe(24)
        self._stopped = threading.Event()
        self._created = False
        self._lock = threading.Lock()
        self._in_flight = InFlight(self.lifecycle, self._lock)

    def _failure(self, kind: FailureKind, message: str) -> AgentFailure:
        return AgentFailure(kind, f"pod {self.pod_name}: {message}", agent_id=self.id)

    # ------------------------------------------------------------- start

    def start(self) -> None:
        if self._stopped.is_set():
            raise self._failure(FailureKind.CANCELLED, "stopped before it started")
        retry = self._created and self.state == S.ERROR  # the pod is there: wait for it again
        self.lifecycle.to(S.STARTING)
        try:
            if not retry:
                self._create()
            self._wait_ready()
        except LoginRequired:
            raise
        except AgentFailure as exc:
            self._to_error(str(exc))
            raise
        except ConfigurationError as exc:
            self._to_error(str(exc))
            raise self._failure(FailureKind.CONFIG, str(exc)) from exc
        except RunnerError as exc:
            self._to_error(str(exc))
            raise self._failure(FailureKind.INFRASTRUCTURE, str(exc)) from exc
        self.lifecycle.to(S.READY)

    def _to_error(self, detail: str) -> None:
        if self.state not in (S.STOPPING, S.STOPPED, S.ERROR):
            self.lifecycle.to(S.ERROR, detail=detail)

    def _create(self) -> None:
        rt, d = self.runtime, self.info.definition
        assert d is not None
        creds = rt.ctx.resolve_credentials(d.credentials)
        if rt.settings.secret_name:
            creds = {}  # the pool's own Secret holds them (by the agent's variable names)
        else:
            missing = sorted(set(d.credentials) - set(creds))
            if missing:
                raise self._failure(FailureKind.CONFIG, "credentials not set in runner's environment: "
                                    + ", ".join(f"{k} (from ${d.credentials[k]})" for k in missing))
        run_id = rt.ctx.run_id
        rt.api.create(secret_manifest(rt.settings, run_id, self.info, {TOKEN_KEY: self._token, **creds},
                                      rt.owner))
        self._created = True
        rt.api.create(pod_manifest(rt.settings, run_id, self.info, rt.owner))
        if self._stopped.is_set():  # stop() ran meanwhile: it may have missed the new objects
            self._delete(force=True)
            raise self._failure(FailureKind.CANCELLED, "stopped while starting")

    def _wait_ready(self) -> None:
        rt = self.runtime
        deadline = time.monotonic() + rt.start_timeout(self.info.definition)
        pod: Any = None
        while True:
            if self._stopped.is_set():
                raise self._failure(FailureKind.CANCELLED, "stopped while starting")
            left = deadline - time.monotonic()
            if left <= 0:
                events = rt.api.pod_events(self.pod_name)
                raise self._failure(FailureKind.INFRASTRUCTURE, f"not ready after {rt.start_timeout(self.info.definition):g}s: "
                                    f"{describe(pod)}" + (f"; events: {'; '.join(events)}" if events else ""))
            try:
                for kind, obj in rt.api.watch_pod(self.pod_name, min(SLICE, left)):
                    if kind == "DELETED":
                        raise self._failure(FailureKind.INFRASTRUCTURE, "deleted while starting")
                    pod = obj
                    if self._settled(pod):
                        return
            except TimeoutError:
                pass
            if pod is not None and self._settled(pod, probe=True):
                return

    def _settled(self, pod: Any, probe: bool = False) -> bool:
        """True once Running + Ready + healthy; raises when it never will be (failed, login)."""
        if pod.status is None:  # just created: nothing scheduled yet
            return False
        phase = pod.status.phase
        if phase in ("Failed", "Succeeded"):
            events = self.runtime.api.pod_events(self.pod_name)
            raise self._failure(FailureKind.INFRASTRUCTURE, f"ended before it was ready: {describe(pod)}"
                                + (f"; events: {'; '.join(events)}" if events else ""))
        if phase != "Running":
            return False
        ready = _ready(pod)
        if not ready and not probe:
            return False
        if self._client is None:
            self._connect(pod)
        # Not Ready: the probe fails for a reason /health tells (a login prompt, most often).
        try:
            reply = self._client.health_reply()
        except AgentFailure:
            return False
        if reply.get("loginRequired"):
            instruction = str(reply.get("instruction") or reply.get("message") or "")
            self.lifecycle.emit("login_required", detail=instruction, instruction=instruction)
            self._to_error("login required")
            raise LoginRequired(self.id, instruction)
        if not (ready and reply.get("healthy")):
            return False
        if self._client.state not in (S.READY, S.BUSY):
            self._client.start()
        self.concurrency = self._client.concurrency
        return True

    def _connect(self, pod: Any) -> None:
        rt = self.runtime
        if rt.settings.access == "pod-ip":
            if not pod.status.pod_ip:
                raise self._failure(FailureKind.INFRASTRUCTURE, "Running without a pod IP")
            self.endpoint = f"http://{pod.status.pod_ip}:{rt.settings.port}"
        else:
            self._forward = k8s_forward.PortForward(k8s_forward.client_stream(rt.api, self.pod_name, rt.settings.port))
            self.endpoint = f"http://127.0.0.1:{self._forward.port}"
        # A private bus: the client's own state changes would otherwise show twice.
        self._client = connect(replace(self.info, endpoint=self.endpoint), EventBus(), AuthConfig(token=self._token))

    # ------------------------------------------------------------- use

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        if self._stopped.is_set() or self.state in (S.STOPPING, S.STOPPED):
            raise self._failure(FailureKind.CANCELLED, "the agent was stopped")
        if self._client is None or self.state not in (S.READY, S.BUSY, S.ERROR):
            raise self._failure(FailureKind.INFRASTRUCTURE, "execute() before start()")
        self._in_flight.begin()
        broken: str | None = None  # the agent is in error after this task (infrastructure, crash)
        try:
            return self._client.execute(request, on_output)
        except AgentFailure as exc:
            if self._stopped.is_set():
                raise self._failure(FailureKind.CANCELLED, "the agent was stopped") from exc
            crash = self._crashed() if exc.kind == FailureKind.INFRASTRUCTURE else None
            failure = crash or exc
            if failure.kind in (FailureKind.INFRASTRUCTURE, FailureKind.CRASH):
                broken = str(failure)
            if crash is not None:
                raise crash from exc
            raise
        finally:
            self._in_flight.end(broken)

    def _crashed(self, wait: float = 2.0) -> AgentFailure | None:
        """CRASH (with the pod's state) when the pod ended under a failed call, else None.

        The node reports a dead container within a moment: poll the pod that long.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                pod = self.runtime.api.read_pod(self.pod_name)
            except RunnerError:
                return None
            if pod is None or (pod.status is not None and pod.status.phase in ("Failed", "Succeeded")):
                return self._failure(FailureKind.CRASH, "the pod ended during the task: "
                                     + (describe(pod) if pod is not None else "deleted"))
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)  # polling the API for the node's report: no event to wait on here

    def _not_started(self) -> str:
        return f"pod {self.pod_name} is not started"

    # ------------------------------------------------------------- stop

    def stop(self, force: bool = False) -> None:
        self._stopped.set()
        try:
            if not self.lifecycle.stop_if_live():
                return
        except Exception:  # noqa: BLE001 - a concurrent stop won the race
            return
        try:
            if self._client is not None:
                self._client.stop(force=True)
            if self._forward is not None:
                self._forward.close()
            if self._created:
                self._delete(force=force)
        except Exception:  # noqa: BLE001 - stop never raises; cleanup() reports what is left
            pass
        try:
            self.lifecycle.to(S.STOPPED)
        except Exception:  # noqa: BLE001
            pass

    def _delete(self, force: bool) -> None:
        """Delete with the grace period; if it is still there after it, delete again with grace 0."""
        api, grace = self.runtime.api, self.runtime.settings.grace_period
        if api.delete("Pod", self.pod_name, 0 if force else grace) and not force:
            deadline = time.monotonic() + grace + 2
            while api.read_pod(self.pod_name) is not None:
                if time.monotonic() > deadline:
                    api.delete("Pod", self.pod_name, 0)
                    break
                time.sleep(0.2)  # polling the API for the pod to go: no event to wait on here
        api.delete("Secret", self.pod_name)
