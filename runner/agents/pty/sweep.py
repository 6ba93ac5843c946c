"""Processes that left their agent's process group (``setsid``: codex daemons do), found by
the environment runner gave them, and killed."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

_GONE_WITHIN = 2.0  # s for killed processes to be gone (init reaps orphans)


def sweep(match: Mapping[str, str | None]) -> list[Any]:
    """Kill every other process whose environment has each of ``match``'s values (None: the
    variable is not set); the ``psutil.Process``es still alive ``_GONE_WITHIN`` s later."""
    import psutil  # lazy: psutil is only needed at cleanup, never on the way to a run

    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == me or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if all(env.get(k) == v for k, v in match.items()):
            try:
                proc.kill()
            except psutil.Error:
                pass
            found.append(proc)
    deadline = time.monotonic() + _GONE_WITHIN
    while True:
        alive = [p for p in found if _running(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.01)  # killed orphans are reaped by init; nothing to wait on


def _running(proc: Any) -> bool:
    import psutil  # lazy: see sweep

    try:
        return bool(proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD))
    except psutil.Error:
        return False
