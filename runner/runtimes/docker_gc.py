"""Remove what dead runs left in Docker: containers, volumes and networks labelled
``runner.managed=true`` whose owner (``runner.docker.owner``) is no longer alive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.docker.client import require_engine, whales
from runner.docker.owner import owner_alive

MANAGED = [("label", "runner.managed=true")]


@dataclass(frozen=True, kw_only=True)
class Collected:
    kind: str  # container | volume | network
    name: str
    run_id: str
    removed: bool
    error: str = ""


def _orphan(labels: Mapping[str, str] | None, all_hosts: bool) -> bool:
    alive = owner_alive(labels or {})
    return alive is False or (alive is None and all_hosts)


def collect(client: str, *, dry_run: bool = False, all_hosts: bool = False,
            run_id: str | None = None) -> list[Collected]:
    """Remove orphans (only those of ``run_id`` when given); returns what was (or would be) removed.

    ``all_hosts``: also remove resources whose owner ran on another host (cannot be checked).
    """
    require_engine(client)
    docker = whales(client)
    filters = list(MANAGED)
    out: list[Collected] = []

    def sweep(kind: str, items: list[Any], remove: Callable[[Any], None]) -> None:
        for item in items:
            labels = dict(item.config.labels or {}) if kind == "container" else dict(item.labels or {})
            if run_id and labels.get("runner.run-id") != run_id:
                continue
            if not _orphan(labels, all_hosts):
                continue
            name = str(item.name).lstrip("/")
            error = ""
            if not dry_run:
                try:
                    remove(item)
                except Exception as exc:  # noqa: BLE001 - reported per item
                    error = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            out.append(Collected(kind=kind, name=name, run_id=labels.get("runner.run-id", ""),
                                 removed=not dry_run and not error, error=error))

    sweep("container", docker.container.list(all=True, filters=filters),
          lambda c: docker.container.remove(c, force=True, volumes=True))
    sweep("volume", docker.volume.list(filters=filters), lambda v: docker.volume.remove(v))
    sweep("network", docker.network.list(filters=filters), lambda n: docker.network.remove(n))
    return out
