"""Who owns a container or pod: the labels that let ``runner gc`` tell a live run from a dead one.

Every container (and volume/network) runner creates carries, besides ``runner.managed=true``
and ``runner.run-id``: ``runner.host`` (this machine's hostname), ``runner.pid`` (the runner
process) and ``runner.pid-start`` (that process's start time, so a reused pid is not mistaken
for the owner). A run is *alive* when its host is this host and a process with that pid and
start time exists. Resources of another host are left alone (their owner cannot be checked
from here) unless gc is told to ignore owners.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping

import psutil


def _start_time(pid: int) -> str:
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return ""


def _same(host: str) -> str:
    return host


def owner_labels(pid: int | None = None, host_label: Callable[[str], str] = _same) -> dict[str, str]:
    """The ``runner.host`` / ``runner.pid`` / ``runner.pid-start`` labels of this process.

    ``host_label`` makes the hostname a valid label value where the backend restricts them
    (Kubernetes); ``owner_alive`` must be given the same function."""
    pid = pid or os.getpid()
    return {"runner.host": host_label(socket.gethostname()), "runner.pid": str(pid),
            "runner.pid-start": _start_time(pid)}


def owner_alive(labels: Mapping[str, str], host_label: Callable[[str], str] = _same) -> bool | None:
    """True/False for an owner on this host; None when it cannot be known (another host)."""
    if "runner.host" not in labels:
        return False  # made without owner labels: nothing can vouch for it
    if labels.get("runner.host") != host_label(socket.gethostname()):
        return None
    pid = labels.get("runner.pid", "")
    if not pid.isdigit():
        return False
    start = _start_time(int(pid))
    expected = labels.get("runner.pid-start", "")
    return bool(start) and (not expected or start == expected)
