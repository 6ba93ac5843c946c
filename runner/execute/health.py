"""Health monitoring of a run's agents: check every live agent on a timer, act on changes.

One daemon thread per run (``HealthMonitor``) wakes every ``pool.health_interval`` seconds
and asks each live handle for ``health()`` (the handle contract: a local process alive and
not stopped, an agent server's ``/health``, a container's state). A change of status emits
``agent_healthy`` / ``agent_unhealthy`` on the agent's lifecycle. An unhealthy agent is

* restarted when the pool says ``autoRestart: true``: the handle is stopped at once and a
  fresh one started for the same agent, up to ``RESTARTS`` times with a doubling backoff;
  the task it was running fails as a ``crash`` and the step's retry policy decides;
* otherwise taken out of the pool for the rest of the run (its task fails as a ``crash``;
  retries go to another agent).

Each healthy check also samples the agent's metrics (``metrics_sampled`` on its lifecycle;
the executor journals it as an ``agent_metrics`` event with ``sampled: true``).

The same thread enforces the agents' limits (``runner.execute.limits``). Agents handed in
from Python are checked and reported, never stopped. The monitor never raises.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from runner.agents.handle import AgentHandle, Health
from runner.agents.lifecycle import AgentState
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.execute.limits import Limits

if TYPE_CHECKING:  # the manager owns the monitor (runner.execute.agents imports this module)
    from runner.execute.agents import AgentManager

log = logging.getLogger(__name__)

RESTARTS = 3  # restarts of one agent per run before it leaves the pool
BACKOFF = 0.5  # seconds before the first restart; doubled for each further one
# An agent in `error` is already being dealt with: the next task's acquire restarts it.
CHECKED = (AgentState.READY, AgentState.BUSY)


def probe(handle: AgentHandle) -> Health:
    """``handle.health()``, plus what a local process cannot say itself: a stopped (SIGSTOP)
    or zombie process is alive but unresponsive. A failing check counts as unhealthy."""
    try:
        health = handle.health()
    except Exception as exc:  # noqa: BLE001 - a broken check is an unhealthy agent
        return Health(healthy=False, message=f"health check failed: {exc}")
    pid = health.metrics.get("pid") if health.healthy else None
    if pid:
        import psutil  # lazy: cold start (psutil)

        try:
            status = psutil.Process(int(pid)).status()
        except psutil.Error:
            return Health(healthy=False, message=f"process {pid} is gone", metrics=health.metrics)
        if status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP, psutil.STATUS_ZOMBIE):
            return Health(healthy=False, message=f"process {pid} is {status} (not responsive)",
                          metrics=health.metrics)
    return health


class HealthMonitor:
    """Checks the manager's agents every ``interval`` seconds; ``start()`` / ``stop()``."""

    def __init__(self, manager: AgentManager, interval: float | None = None,
                 auto_restart: bool | None = None) -> None:
        pool = manager.pool
        self.manager = manager
        self.interval = max(0.01, interval if interval is not None else pool.health_interval)
        self.auto_restart = pool.auto_restart if auto_restart is None else auto_restart
        self.limits = Limits(manager)
        self._healthy: dict[str, bool] = {}
        self._restarts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health", daemon=True)

    def start(self) -> HealthMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking (the run is ending); waits for a check in progress."""
        self._stop.set()
        self.limits.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)  # a restart in progress is cut short by stop_all

    # ------------------------------------------------------------ the loop
    def _loop(self) -> None:
        tick = min(self.interval, self.limits.tick or self.interval)
        next_check = time.monotonic() + self.interval
        while not self._stop.wait(tick):
            try:
                self.limits.check()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.interval
                    self.check_all()
            except Exception:  # noqa: BLE001 - the monitor must outlive any one bad check
                log.exception("health monitor")

    def check_all(self) -> None:
        """One round: probe every live handle at once (a server that does not answer costs its
        timeout once, not once per agent), then report and act one by one."""
        handles = [h for h in self.manager.started().values() if h.state in CHECKED]
        if not handles:
            return
        with ThreadPoolExecutor(max_workers=min(16, len(handles)), thread_name_prefix="probe") as pool:
            results = list(pool.map(probe, handles))
        for handle, health in zip(handles, results, strict=True):
            if self._stop.is_set():
                return
            self.check(handle, health)

    def check(self, handle: AgentHandle, health: Health | None = None) -> bool:
        """Check one handle (or take ``health``), report a change, act when unhealthy."""
        health = health or probe(handle)
        if handle.state not in CHECKED:  # stopped meanwhile (by the run): nothing to report
            return health.healthy
        before = self._healthy.get(handle.id)
        self._healthy[handle.id] = health.healthy
        if health.healthy:
            if before is False:
                handle.lifecycle.emit("agent_healthy", detail=health.message)
            from runner.observe.metrics import from_health  # lazy: cold start (psutil)

            metrics = from_health(health.metrics)
            if metrics:  # a sample on each check: a live run's cpu / memory (the journal has it)
                handle.lifecycle.emit("metrics_sampled", **metrics)
            return True
        if before is not False:
            handle.lifecycle.emit("agent_unhealthy", detail=health.message)
        if not self.manager.provided(handle.id):
            self._act(handle, health.message or "unhealthy")
        return False

    def _act(self, handle: AgentHandle, why: str) -> None:
        count = self._restarts.get(handle.id, 0)
        if not self.auto_restart or count >= RESTARTS:
            reason = f"left the pool: unhealthy ({why})"
            if self.auto_restart:
                reason += f" after {count} restart(s)"
            handle.lifecycle.emit("agent_retired", detail=reason)
            self.manager.discard(handle, FailureKind.CRASH, reason, retire=True)
            return
        self._restarts[handle.id] = count + 1
        self.manager.discard(handle, FailureKind.CRASH, f"restarted: unhealthy ({why})")
        if count and self._stop.wait(BACKOFF * 2 ** (count - 1)):
            return
        try:
            fresh = self.manager.acquire(handle.info, self.manager.runtime_name(handle.id))
        except (AgentFailure, LoginRequired) as exc:
            log.warning("agent %s: restart %d failed: %s", handle.id, count + 1, exc)
            return  # the next task's acquire tries again; the next check sees no live handle
        self._healthy[handle.id] = True
        fresh.lifecycle.emit("agent_restarted", detail=why, restarts=count + 1)
