"""The local runtime's ``gc``: kill agent processes left behind by runs that are gone.

Every process the local runtime starts carries ``RUNNER_MANAGED=1`` and ``RUNNER_RUN_ID`` in
its environment; every run keeps its journal in ``<state-dir>/runs/<run-id>/``, whose lock the
runner holds while it lives (the journal's one liveness rule; a pid in ``run.json`` is not
asked: it may have been reused). A run is *dead* when its journal is found and nobody holds
its lock, or — when no journal is found (another state dir) — when none of its processes has a
parent outside the run other than init (the runner died and they were re-parented). Processes
of live runs are never touched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from runner.journal import LOCK_FILE, is_running


@dataclass(frozen=True, kw_only=True)
class Leftover:
    """One process of a dead run; ``killed`` False with ``dry_run`` or when it survived."""

    pid: int
    run_id: str
    agent_id: str
    killed: bool


def gc_local(state_dirs: Iterable[Path] = (Path(".runner"),), *, dry_run: bool = False,
             run_id: str | None = None, wait: float = 2.0) -> list[Leftover]:
    """Kill every local agent process of a dead run (only of ``run_id`` when given); returns
    what was found (``killed`` False with ``dry_run`` or when a process survived)."""
    by_run: dict[str, list[Any]] = {}
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get("RUNNER_MANAGED") == "1" and env.get("RUNNER_RUN_ID") and run_id in (None, env["RUNNER_RUN_ID"]):
            by_run.setdefault(env["RUNNER_RUN_ID"], []).append((proc, env.get("RUNNER_AGENT_ID", "")))
    dirs = list(state_dirs)
    found: list[tuple[Any, str, str]] = []
    for run_id, procs in by_run.items():
        if _run_dead(run_id, [p for p, _ in procs], dirs):
            found += [(p, run_id, agent) for p, agent in procs]
    if not dry_run:
        for proc, _, _ in found:
            with contextlib.suppress(psutil.Error):
                proc.kill()
    deadline = time.monotonic() + (0 if dry_run else wait)
    while not dry_run and any(_alive(p) for p, _, _ in found) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [Leftover(pid=p.pid, run_id=r, agent_id=a, killed=not dry_run and not _alive(p)) for p, r, a in found]


def _run_dead(run_id: str, procs: list[Any], state_dirs: list[Path]) -> bool:

    for state_dir in state_dirs:
        run_dir = Path(state_dir) / "runs" / run_id
        if (run_dir / LOCK_FILE).exists():
            return not is_running(run_dir)
    own = {p.pid for p in procs}
    for proc in procs:  # no record: dead when nothing outside the run (but init) holds its processes
        try:
            ppid = proc.ppid()
        except psutil.Error:
            continue
        if ppid > 1 and ppid not in own:
            return False
    return True


def _alive(proc: Any) -> bool:
    try:
        return proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False
