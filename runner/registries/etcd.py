"""The ``etcd`` registry: agents that registered themselves under a key prefix.

The first ``agents()`` lists the prefix (in the caller's thread, so an unreachable etcd
fails right there, within the request timeout). From then on a daemon thread keeps the view
current with a watch from the listed revision: put → added/modified, delete (including a
lease that expired) → deleted. When the watch stream ends (etcd restarted, revision
compacted, idle for ``idle`` seconds) the thread lists the prefix again and watches anew.
While etcd cannot be reached ``agents()`` raises the last InfrastructureError.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import InfrastructureError
from runner.registries.base import Registry, RegistryCapabilities
from runner.registries.etcd_client import EtcdClient
from runner.registries.etcd_options import OPTIONS_SCHEMA, settings_from
from runner.registries.etcd_record import agent_from_record, is_healthy
from runner.spec.models import Pool

log = logging.getLogger(__name__)

Listener = Callable[[str, AgentInfo], None]  # ("added" | "modified" | "deleted", agent)


class EtcdRegistry(Registry):
    """Agents registered in etcd, kept current by a watch on the prefix."""

    name = "etcd"
    capabilities = RegistryCapabilities(dynamic=True)
    options_schema = OPTIONS_SCHEMA
    extras = {"etcd": "etcd3gw"}
    idle = 30.0  # seconds of watch silence before re-listing (also catches half-open links)

    def __init__(self, ctx: RunContext, pool: Pool, options: Mapping[str, Any]) -> None:
        super().__init__(ctx, pool, options)
        self.settings = settings_from(self.options, ctx.environ)
        self.prefix = self.settings.prefix
        self._client: EtcdClient = self.settings.client()
        self._view: dict[str, AgentInfo] = {}  # etcd key → agent
        self._lock = threading.Lock()
        self._error: InfrastructureError | None = None
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._abort: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ public

    def agents(self) -> list[AgentInfo]:
        """Healthy registered agents (an agent that reports itself unhealthy is left out)."""
        return [a for a in self.all_agents() if is_healthy(a)]

    def all_agents(self) -> list[AgentInfo]:
        """Every registered agent, healthy or not, sorted by id."""
        if self._thread is None:
            revision = self._relist()
            self._thread = threading.Thread(
                target=self._run, args=(revision,), name=f"etcd-watch {self.prefix}", daemon=True
            )
            self._thread.start()
        with self._lock:
            if self._error is not None:
                raise self._error
            return sorted(self._view.values(), key=lambda a: a.id)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(kind, agent)`` on every change the registry sees (from its thread)."""
        self._listeners.append(listener)

    def close(self) -> None:
        """Stop the watch thread and drop the connections."""
        self._stop.set()
        if self._abort is not None:
            self._abort()
        if self._thread is not None:
            self._thread.join(timeout=self._client.timeout + 1)
        self._client.close()

    # ------------------------------------------------------------ the watch thread

    def _relist(self) -> int:
        """Replace the view with a full listing; emit the differences; the listed revision."""
        revision, kvs = self._client.range_prefix(self.prefix)
        fresh = {key: a for key, raw in kvs if (a := agent_from_record(key, raw)) is not None}
        with self._lock:
            old, self._view, self._error = self._view, fresh, None
        for key, agent in fresh.items():
            if key not in old:
                self._emit("added", agent)
            elif old[key] != agent:
                self._emit("modified", agent)
        for key in old.keys() - fresh.keys():
            self._emit("deleted", old[key])
        return revision

    def _run(self, revision: int) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                if revision == 0:
                    revision = self._relist()
                    delay = 0.1
                watched = time.monotonic()
                for event in self._client.watch_prefix(
                    self.prefix, revision + 1, idle_timeout=self.idle, on_stream=self._set_abort
                ):
                    self._apply(event.kind, event.key, event.value)
                revision = 0  # the stream ended: list again before watching again
                if time.monotonic() - watched < 1.0:  # refused at once (e.g. no permission): no hot loop
                    self._stop.wait(delay)
                    delay = min(delay * 2, 2.0)
            except InfrastructureError as exc:
                with self._lock:
                    self._error = exc
                revision = 0
                log.warning("%s; retrying in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
            except Exception:  # noqa: BLE001 - a daemon thread must not die silently
                log.exception("etcd watch on %s failed; listing again", self.prefix)
                revision = 0
                self._stop.wait(delay)

    def _set_abort(self, abort: Callable[[], None]) -> None:
        self._abort = abort
        if self._stop.is_set():
            abort()

    def _apply(self, kind: str, key: str, raw: bytes) -> None:
        with self._lock:
            old = self._view.get(key)
            agent = agent_from_record(key, raw) if kind == "put" else None
            if agent is not None:
                self._view[key] = agent
            else:
                self._view.pop(key, None)
        if agent is not None:
            self._emit("modified" if old is not None else "added", agent)
        elif old is not None:
            self._emit("deleted", old)

    def _emit(self, kind: str, agent: AgentInfo) -> None:
        for listener in self._listeners:
            try:
                listener(kind, agent)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the watch
                log.exception("etcd registry listener failed on %s %s", kind, agent.id)
