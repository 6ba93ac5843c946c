"""What every plug-in gets to know about the run it works for."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.agents.lifecycle import AgentEvent



Listener = Callable[["AgentEvent"], None]


class EventBus:
    """The run's events: synchronous publish/subscribe (agents publish their lifecycle events,
    the executor, health monitor and views listen); a failing listener never breaks the publisher."""

    def __init__(self) -> None:
        self._listeners: list[tuple[str | None, Listener]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener, name: str | None = None) -> Callable[[], None]:
        """Call ``listener`` for every event (or only those called ``name``); returns an unsubscribe."""
        entry = (name, listener)
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return unsubscribe

    def publish(self, event: AgentEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for name, listener in listeners:
            if name is None or name == event.name:
                try:
                    listener(event)
                except Exception:  # noqa: BLE001 - a listener's bug must not stop an agent
                    pass


def new_run_id() -> str:
    """Sortable, unique, short: ``20261125-140512-3f9a1c``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(kw_only=True)
class RunContext:
    """Shared by the executor and every runtime/registry/agent of one run.

    ``labels`` go on every process (as ``RUNNER_*`` env vars), container and pod the run
    starts, so that ``runner gc`` can find what a dead run left behind.
    ``environ`` is where credential references are resolved; it defaults to ``os.environ``.
    """

    run_id: str = field(default_factory=new_run_id)
    workdir: Path = field(default_factory=Path.cwd)
    state_dir: Path = field(default_factory=lambda: Path(".runner"))
    bus: EventBus = field(default_factory=EventBus)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    pattern_name: str = ""
    # Seconds running tasks may finish after Ctrl-C / SIGTERM before they are cancelled.
    drain_timeout: float = 0.0
    keep_workspaces: bool = False  # agents' workspaces stay after the run (for a look)
    force: bool = False  # `land: apply` onto a dirty working tree
    # Record & replay (runner.replay): the cassette agents answer from (no agent is started),
    # whether a task missing from it runs the real agent ("run") or fails ("error"), and where
    # every exchange is recorded.
    replay: Any = None
    replay_missing: str = "error"
    recorder: Any = None
    # Resume (runner.resume): the earlier run whose successes are reused (``--resume``), and
    # whether the runner exits while a step waits for approval (``--detach-on-approval``).
    resume: Any = None
    detach_on_approval: bool = False

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "runs" / self.run_id

    @property
    def labels(self) -> dict[str, str]:
        return {"runner.managed": "true", "runner.run-id": self.run_id}

    def label_env(self, agent_id: str) -> dict[str, str]:
        """Environment variables that mark a process as started by this run."""
        return {"RUNNER_MANAGED": "1", "RUNNER_RUN_ID": self.run_id, "RUNNER_AGENT_ID": agent_id}

    def resolve_credentials(self, refs: Mapping[str, str]) -> dict[str, str]:
        """Map ``{AGENT_VAR: RUNNER_VAR}`` references to values; missing ones are left out."""
        return {k: self.environ[v] for k, v in refs.items() if v in self.environ}
