"""The ``local`` runtime: agent programs on this machine, each in its own real PTY.

Options (pool ``runtimes[].options``, snake_case or camelCase): ``grace`` seconds between
SIGTERM and SIGKILL on a graceful stop (3); ``start_timeout`` seconds a long-lived agent may
take to show its prompt (60; an agent's ``options.start_timeout`` overrides it); ``max_parallel`` tasks one per-task
agent runs at once (64); ``max_transcript`` characters of output kept per process (4,000,000);
``login_idle`` seconds a per-task program must stay silent after printing login text (or
exit without an explicit answer) to count as wanting a login (3).

Every process gets ``RUNNER_MANAGED``/``RUNNER_RUN_ID``/``RUNNER_AGENT_ID`` (from the run
context) and ``RUNNER_RUNTIME=local`` in its environment, which is otherwise minimal (see
``runner.agents.pty.build_env``): secrets reach an agent only through its ``credentials``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.agents.pty import PtySession
from runner.agents.pty.proc import raise_fd_limit
from runner.agents.pty.sweep import sweep
from runner.agents.types import AGENT_TYPES
from runner.agents.types.base import AgentType
from runner.context import RunContext
from runner.errors import ConfigurationError
from runner.plugins import closed, described, load
from runner.runtimes.base import GcRequest, GcResult, Leftover, Runtime
from runner.runtimes.local_handle import LocalHandle

__all__ = ["LocalHandle", "LocalRuntime"]

_SECONDS = {"type": "number", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 1}
#: option (snake_case) -> its schema; each may also be written in camelCase
OPTIONS = {
    "grace": described(_SECONDS, "seconds between SIGTERM and SIGKILL on a graceful stop (3)"),
    "start_timeout": described(_SECONDS, "seconds a long-lived agent may take to show its prompt (60)"),
    "max_parallel": described(_COUNT, "tasks one per-task agent runs at once (64)"),
    "max_transcript": described(_COUNT, "characters of output kept per process (4,000,000)"),
    "login_idle": described(_SECONDS, "seconds a per-task program must stay silent after login text to "
                                      "count as wanting a login (3)"),
}


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _both_spellings(options: dict[str, Any]) -> dict[str, Any]:
    return {**options, **{_camel(k): v for k, v in options.items()}}


class LocalRuntime(Runtime):
    """Starts agents as local processes in PTYs; tracks them so ``cleanup`` can kill them."""

    name = "local"
    options_schema = closed(_both_spellings(OPTIONS))
    agent_options_schema = closed(_both_spellings({"start_timeout": described(
        _SECONDS, "seconds this long-lived agent may take to show its prompt (wins over the runtime's)")}))

    def __init__(self, ctx: RunContext, options: Mapping[str, Any]) -> None:
        super().__init__(ctx, options)
        self._lock = threading.Lock()
        self._types: dict[str, AgentType] = {}
        self._handles: list[LocalHandle] = []
        self._sessions: dict[PtySession, str] = {}  # live session -> agent id
        raise_fd_limit()  # hundreds of agents at once need more than the usual 1,024

    def available(self) -> str | None:
        return None

    def option(self, name: str, default: Any) -> Any:
        """Option ``name`` (snake_case) as given in the pool, in snake_case or camelCase."""
        return self.options.get(name, self.options.get(_camel(name), default))

    def agent_type(self, name: str) -> AgentType:
        """The (shared) instance of agent type ``name``."""
        with self._lock:
            if name not in self._types:
                self._types[name] = load("agent type", AGENT_TYPES, name)()
            return self._types[name]

    def can_run(self, info: AgentInfo) -> bool:
        d = info.definition
        if d is None or info.endpoint is not None or d.runtime not in (None, self.name):
            return False
        return self.type_runs(d)

    def spawn(self, info: AgentInfo) -> AgentHandle:
        if info.definition is None:
            raise ConfigurationError(f"agent {info.id} has no definition to start it from")
        problems = self.agent_type(info.definition.type).validate(info.definition)
        if problems:
            raise ConfigurationError(f"agent {info.id}: " + "; ".join(problems))
        if not self.can_run(info):
            raise ConfigurationError(f"the local runtime cannot run agent {info.id} "
                                     f"(type `{info.definition.type}`, mode `{info.definition.mode}`)")
        handle = LocalHandle(info, self)
        with self._lock:
            self._handles.append(handle)
        return handle

    @classmethod
    def gc(cls, options: Mapping[str, Any] | None, request: GcRequest) -> GcResult:
        """Agent processes of dead runs, found by ``RUNNER_RUN_ID`` in their environment
        (``runner.runtimes.local_gc``)."""
        from runner.runtimes.local_gc import gc_local  # lazy: cold start (only `runner gc`)

        found = gc_local([request.state_dir], dry_run=request.dry_run, run_id=request.run_id)
        return GcResult(leftovers=tuple(
            Leftover(kind="process", name=f"{p.pid} (agent {p.agent_id})", run_id=p.run_id,
                     status="would kill" if request.dry_run else ("killed" if p.killed else "FAILED: still alive"))
            for p in found))

    def track(self, handle: LocalHandle, session: PtySession) -> None:
        """Called by handles for every process they start."""
        with self._lock:
            self._sessions[session] = handle.id

    def untrack(self, session: PtySession) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def cleanup(self) -> list[str]:
        """Stop every handle (at once), kill what is left; returns what could not be killed."""
        with self._lock:
            handles = list(self._handles)
        for handle in handles:
            handle.stop(force=True)
        with self._lock:
            sessions = dict(self._sessions)
        for session in sessions:
            session.close(0.0)
            self.untrack(session)
        left: list[str] = []
        for session, agent_id in sessions.items():
            if session.alive:
                left.append(f"process {session.pid} of agent {agent_id}")
        # processes of this run's local agents that left their process group (``setsid``)
        run_id = self.ctx.run_id
        left.extend(f"process {p.pid} (left by run {run_id})"
                    for p in sweep({"RUNNER_RUN_ID": run_id, "RUNNER_RUNTIME": "local"}))
        return left
