"""Graceful shutdown of a run: drain, then stop; a second Ctrl-C / SIGTERM forces.

After the first SIGINT/SIGTERM the executor stops scheduling (no new tasks, no retries) and
hands over to ``Shutdown``::

    with Shutdown(manager, ctx.drain_timeout, notify) as shutdown:
        shutdown.drain(done, running, finish)   # running tasks may finish, up to the timeout
        ...stop every agent (force=shutdown.forced.is_set()), clean up...

While it is active, a second SIGINT or SIGTERM does not raise: it kills every agent of the
run at once (in a thread, so the signal handler never waits on a lock the main thread holds)
and ends the drain. Outside the main thread no handler can be installed; the drain then only
ends by its timeout.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from runner.agents.lifecycle import AgentState
from runner.execute.agents import AgentManager

Notify = Callable[..., None]


class Shutdown:
    def __init__(self, manager: AgentManager, timeout: float, notify: Notify | None = None) -> None:
        self.manager = manager
        self.timeout = max(0.0, timeout)
        self.notify = notify or (lambda name, **fields: None)
        self.forced = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Shutdown:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._force)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _force(self, signum: int, frame: Any) -> None:
        if self.forced.is_set():
            return
        self.forced.set()
        threading.Thread(target=self.manager.stop_all, kwargs={"force": True, "include_provided": True},
                         name="force-stop", daemon=True).start()

    def busy(self) -> int:
        """Agents running a task now (tasks may run outside any node the loop still waits for:
        a node the main thread ran itself was cut short by the signal, its tasks were not)."""
        return sum(1 for h in self.manager.started().values() if h.state is AgentState.BUSY)

    def drain(self, done: queue.SimpleQueue[tuple[str, BaseException | None]], running: int,
              finish: Callable[[str, BaseException | None], None]) -> int:
        """Wait while nodes or tasks run (at most ``timeout`` s, less when forced); ``finish``
        records each node that ends. Returns how many nodes still run (to be cancelled)."""
        if not self.timeout or not (running or self.busy()):
            return running
        self.notify("drain_started", running=max(running, self.busy()), timeout=self.timeout)
        deadline = time.monotonic() + self.timeout
        while (running or self.busy()) and not self.forced.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                node_id, error = done.get(timeout=min(left, 0.05))  # short waits: see `forced` soon
            except queue.Empty:
                continue
            running -= 1
            try:
                finish(node_id, error)
            except BaseException:  # noqa: BLE001 - a node's outcome must not end the shutdown
                pass
        self.notify("drain_finished", cancelled=max(running, self.busy()), forced=self.forced.is_set())
        return running
