"""The run's agents: start each once, lend them to tasks, replace broken ones, stop them all.

Spawned agents are started by the first runtime (by the pool's priority) that is available
and can run them; agents with an endpoint are connected through the protocol client;
agents handed in from Python (``runner.api``) are used as they are. ``stop_all`` stops
every agent the run started and asks every runtime to remove what is left: it is what the
cleanup node, Ctrl-C and SIGTERM call, and it never raises.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from runner import plugins
from runner.agents.handle import AgentHandle
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind, LoginRequired, RunnerError
from runner.execute.health import HealthMonitor
from runner.observe import trace
from runner.observe.metrics import measure_handle
from runner.resume.secrets import check_again
from runner.runtimes import RUNTIMES
from runner.runtimes.base import Runtime
from runner.spec.models import Pool, RuntimeConfig

LIVE = (AgentState.READY, AgentState.BUSY)


class AgentManager:
    def __init__(self, ctx: RunContext, pool: Pool, provided: Sequence[AgentHandle] = ()) -> None:
        self.ctx = ctx
        self.pool = pool
        self._handles: dict[str, AgentHandle] = {h.id: h for h in provided}
        self._provided = {h.id for h in provided}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._runtimes: dict[str, Runtime] = {}
        self._runtime_of: dict[str, str] = {}
        self._lock = threading.Lock()
        self._closed = False
        # Set by the health monitor and limits (runner.execute.health): agents out of the
        # pool for the rest of the run, and why each replaced handle was stopped.
        self._retired: dict[str, str] = {}
        self._fates: dict[int, tuple[FailureKind, str]] = {}
        self._monitor: Any = None  # HealthMonitor, started with the first agent
        self._auth: Any = None
        # Each agent's metrics (runner.observe.metrics form), taken just before the run stops it.
        self.metrics: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ runtimes
    def _runtime_configs(self) -> list[RuntimeConfig]:
        configs = list(self.pool.runtimes) or [RuntimeConfig(type="local")]
        return [c for _, c in sorted(enumerate(configs), key=lambda ic: (ic[1].priority, ic[0]))]

    def runtime(self, name: str) -> Runtime:
        with self._lock:
            if name not in self._runtimes:
                config = next((c for c in self._runtime_configs() if c.type == name), RuntimeConfig(type=name))
                cls = plugins.load("runtime", RUNTIMES, name)
                self._runtimes[name] = cls(self.ctx, config.options)
            return self._runtimes[name]

    def _spawn(self, info: AgentInfo, preferred: str | None) -> AgentHandle:
        names = [c.type for c in self._runtime_configs()]
        if preferred:
            names = [preferred] + [n for n in names if n != preferred]
        reasons = []
        for name in names:
            runtime = self.runtime(name)
            why = runtime.available()
            if why is None and runtime.can_run(info):
                self._runtime_of[info.id] = name
                return runtime.spawn(info)
            reasons.append(f"{name}: {why or 'cannot run agents of type ' + info.type}")
        raise AgentFailure(FailureKind.INFRASTRUCTURE,
                           "no runtime can start it (" + "; ".join(reasons) + ")", agent_id=info.id)

    # ------------------------------------------------------------ handles
    def runtime_name(self, agent_id: str) -> str | None:
        return self._runtime_of.get(agent_id)

    def handle(self, agent_id: str) -> AgentHandle | None:
        return self._handles.get(agent_id)

    def acquire(self, info: AgentInfo, runtime: str | None = None) -> AgentHandle:
        """The started handle of ``info``, starting (or restarting) it when needed."""
        with self._lock:
            if self._closed:
                raise AgentFailure(FailureKind.CANCELLED, "the run is stopping", agent_id=info.id)
            if info.id in self._retired:
                raise AgentFailure(FailureKind.INFRASTRUCTURE, self._retired[info.id], agent_id=info.id)
            lock = self._locks.setdefault(info.id, threading.Lock())
            if self._monitor is None:
                self._monitor = HealthMonitor(self).start()
        with lock:
            handle = self._handles.get(info.id)
            if handle is not None and handle.state in LIVE:
                return handle
            if handle is None:
                check_again(self.ctx.resume, info, self.ctx.environ)  # a resumed run's secrets: from the env again
                handle = self._connect(info, runtime)
                with self._lock:
                    self._handles[info.id] = handle
            elif handle.state in (AgentState.STOPPING, AgentState.STOPPED):
                raise AgentFailure(FailureKind.CANCELLED, "agent was stopped", agent_id=info.id)
            try:
                with trace.span(trace.SPAWN_AGENT, agent_id=info.id, agent_type=info.type,
                                runtime=self._runtime_of.get(info.id) or "remote"):
                    handle.start()
            except LoginRequired:
                raise
            except AgentFailure:
                raise
            except RunnerError as exc:
                raise AgentFailure(FailureKind.INFRASTRUCTURE, exc.render(), agent_id=info.id) from exc
            return handle

    def _connect(self, info: AgentInfo, runtime: str | None) -> AgentHandle:
        if self.ctx.replay is not None:  # --replay: answers come from the cassette, nothing starts
            from runner.replay.handle import CassetteHandle  # lazy: cold start (only --replay)

            fallback = None
            if self.ctx.replay_missing == "run" and (info.endpoint or info.definition is not None):
                def fallback() -> AgentHandle:
                    real = self._connect_real(info, runtime)
                    real.start()
                    return real
            return CassetteHandle(info, self.ctx.bus, self.ctx.replay, fallback)
        return self._connect_real(info, runtime)

    def _connect_real(self, info: AgentInfo, runtime: str | None) -> AgentHandle:
        if info.endpoint:
            from runner.protocol.connect import connect  # lazy: cold start (only remote agents)

            if self._auth is None:
                from runner.protocol.auth import AuthConfig  # lazy: cold start (only remote agents)

                # tokenFile / caFile are relative to the pool file; the token comes from the run's env
                self._auth = AuthConfig.from_pool(self.pool.auth, self.ctx.environ, Path(self.pool.source).parent)
            return connect(info, self.ctx.bus, self._auth)
        return self._spawn(info, runtime)

    @contextlib.contextmanager
    def lease(self, handle: AgentHandle) -> Iterator[AgentHandle]:
        """Hold one of the agent's task slots (``handle.concurrency``) while a task runs."""
        with self._lock:
            slot = self._slots.setdefault(handle.id, threading.BoundedSemaphore(max(1, handle.concurrency)))
        with slot:
            yield handle

    def provided(self, agent_id: str) -> bool:
        """Whether the agent was handed in from Python (the run never stops or replaces it)."""
        return agent_id in self._provided

    def discard(self, handle: AgentHandle, kind: FailureKind, reason: str, *, retire: bool = False) -> None:
        """Stop ``handle`` at once and forget it: the next ``acquire`` of its agent starts a fresh
        one, or fails when ``retire`` (the agent leaves the pool for the rest of the run). A task
        it was running fails with ``kind`` (see ``fate``), so the step's retry policy decides."""
        with self._lock:
            self._fates[id(handle)] = (kind, reason)
            if retire:
                self._retired[handle.id] = reason
            if self._handles.get(handle.id) is handle and handle.id not in self._provided:
                del self._handles[handle.id]
        handle.stop(force=True)

    def retired(self, agent_id: str) -> bool:
        """Whether the agent left the pool for the rest of the run."""
        return agent_id in self._retired

    def fate(self, handle: AgentHandle) -> tuple[FailureKind, str] | None:
        """Why ``discard`` stopped this handle (None when it did not)."""
        return self._fates.get(id(handle))

    def started(self) -> Mapping[str, AgentHandle]:
        with self._lock:
            return dict(self._handles)

    # ------------------------------------------------------------ stopping
    def _measure(self, handle: AgentHandle) -> None:
        """Keep the agent's metrics (once: the first stop sees it still running)."""
        if handle.id in self.metrics or handle.state not in LIVE:
            return

        metrics = measure_handle(handle)
        if metrics is not None:
            with self._lock:
                self.metrics.setdefault(handle.id, metrics)

    def stop_all(self, force: bool = False, include_provided: bool = False) -> list[str]:
        """Stop every agent of the run (in parallel) and clean every runtime; never raises.

        Agents handed in from Python are left running unless the run is aborted
        (``include_provided``: timeout, interrupt), when their running tasks must end too.
        """
        with self._lock:
            self._closed = True
            monitor = self._monitor
        if monitor is not None:  # no restarts while the run stops its agents
            monitor.stop()
        with self._lock:
            everyone = list(self._handles.values())
            handles = {id(h) for i, h in self._handles.items() if include_provided or i not in self._provided}
            runtimes = list(self._runtimes.values())
        problems: list[str] = []

        def stop(h: AgentHandle) -> None:
            if not force:  # a forced stop (second signal) does not wait for a health call
                self._measure(h)
            if id(h) not in handles:
                return
            try:
                h.stop(force=force)
            except Exception as exc:  # noqa: BLE001 - teardown failures are reported, not raised
                problems.append(f"agent {h.id}: {exc}")

        if everyone:
            with ThreadPoolExecutor(max_workers=min(32, len(everyone))) as pool:
                list(pool.map(stop, everyone))
        for runtime in runtimes:
            try:
                problems += runtime.cleanup()
            except Exception as exc:  # noqa: BLE001
                problems.append(f"runtime {runtime.name}: {exc}")
        return problems
