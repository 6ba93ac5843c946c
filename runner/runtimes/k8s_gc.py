"""``runner gc`` for a cluster: delete the Pods and Secrets that dead runs left behind.

Every Pod and Secret the kubernetes runtime creates carries the owner labels ``runner.host``
(this machine), ``runner.pid`` (the runner process) and ``runner.pid-start`` (its start time, so
a reused pid is not taken for the owner) — the same labels and rule as the docker runtime's
containers: an owner is alive when it ran on this host and that process still exists. Objects
of another host are left alone unless ``all_hosts`` (their owner cannot be checked from here).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from runner.errors import RunnerError
from runner.runtimes.k8s_manifests import L_RUN, label_value

HOST, PID, PID_START = "runner.host", "runner.pid", "runner.pid-start"


def _start_time(pid: int) -> str:
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return ""


def owner_labels(pid: int | None = None) -> dict[str, str]:
    """The owner labels of this process (sanitized to label values)."""
    pid = pid or os.getpid()
    return {HOST: label_value(socket.gethostname()), PID: str(pid), PID_START: _start_time(pid)}


def owner_alive(labels: Mapping[str, str]) -> bool | None:
    """True/False for an owner on this host; None when it cannot be known (another host)."""
    if HOST not in labels:
        return False  # made without owner labels: nothing vouches for it
    if labels[HOST] != label_value(socket.gethostname()):
        return None
    pid = labels.get(PID, "")
    if not pid.isdigit():
        return False
    start = _start_time(int(pid))
    expected = labels.get(PID_START, "")
    return bool(start) and (not expected or start == expected)


def gc_kubernetes(options: Mapping[str, Any], *, run_id: str | None = None, dry_run: bool = False,
                  all_hosts: bool = False, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Delete the managed Pods (grace 0) and Secrets of dead runs in the namespace of ``options``
    (a pool's kubernetes runtime options); only those of ``run_id`` when given.

    One line per object, as ``runner gc`` prints them: ``pod\\tNAME\\trun RUN\\tremoved`` (or
    ``would remove`` with ``dry_run``, or ``FAILED: why``). Live runs' objects are never touched;
    another host's only with ``all_hosts``.
    """
    from runner.runtimes.k8s_api import K8sApi
    from runner.runtimes.k8s_options import parse_settings

    api = K8sApi(parse_settings(options, environ), environ)
    out: list[str] = []
    try:
        for kind in ("Pod", "Secret"):
            for item in api.list_managed(kind, run_id):
                labels = item.metadata.labels or {}
                alive = owner_alive(labels)
                if alive is True or (alive is None and not all_hosts):
                    continue
                status = "would remove"
                if not dry_run:
                    try:
                        api.delete(kind, item.metadata.name, 0 if kind == "Pod" else None)
                        status = "removed"
                    except RunnerError as exc:
                        status = f"FAILED: {exc}"
                out.append(f"{kind.lower()}\t{item.metadata.name}\trun {labels.get(L_RUN, '?')}\t{status}")
    finally:
        api.close()
    return out
