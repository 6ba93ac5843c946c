"""``runner gc`` for a cluster: delete the Pods and Secrets that dead runs left behind.

Every Pod and Secret the kubernetes runtime creates carries the owner labels ``runner.host``
(this machine), ``runner.pid`` (the runner process) and ``runner.pid-start`` (its start time, so
a reused pid is not taken for the owner) — the same labels and rule as the docker runtime's
containers: an owner is alive when it ran on this host and that process still exists. Objects
of another host are left alone unless ``all_hosts`` (their owner cannot be checked from here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.docker import owner as docker_owner
from runner.errors import RunnerError
from runner.runtimes.base import Leftover
from runner.runtimes.k8s_api import K8sApi
from runner.runtimes.k8s_manifests import L_RUN, label_value
from runner.runtimes.k8s_options import parse_settings

HOST, PID, PID_START = "runner.host", "runner.pid", "runner.pid-start"


def owner_labels(pid: int | None = None) -> dict[str, str]:
    """The owner labels of this process, the hostname sanitized to a label value."""
    return docker_owner.owner_labels(pid, label_value)


def owner_alive(labels: Mapping[str, str]) -> bool | None:
    """True/False for an owner on this host; None when it cannot be known (another host)."""
    return docker_owner.owner_alive(labels, label_value)


def gc_kubernetes(options: Mapping[str, Any], *, run_id: str | None = None, dry_run: bool = False,
                  all_hosts: bool = False, environ: Mapping[str, str] = os.environ) -> list[Leftover]:
    """Delete the managed Pods (grace 0) and Secrets of dead runs in the namespace of ``options``
    (a pool's kubernetes runtime options); only those of ``run_id`` when given.

    One ``Leftover`` per object (status ``removed``, ``would remove`` with ``dry_run``, or
    ``FAILED: why``). Live runs' objects are never touched; another host's only with ``all_hosts``.
    """
    api = K8sApi(parse_settings(options, environ), environ)
    out: list[Leftover] = []
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
                out.append(Leftover(kind=kind.lower(), name=item.metadata.name, run_id=labels.get(L_RUN, ""),
                                    status=status))
    finally:
        api.close()
    return out
