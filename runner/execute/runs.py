"""Reading run journals back: the events of a run, its result, and the list of runs.

See ``runner.execute.journal`` for the layout of a run directory. Reading never fails on a
run a killed process left behind: a torn last line is skipped, a missing file is "not there".
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["EVENTS_FILE", "LOCK_FILE", "RunSummary", "list_runs", "load_result", "read_events", "summarize"]

EVENTS_FILE = "events.jsonl"
LOCK_FILE = ".lock"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSummary:
    """One run as ``runner runs`` lists it.

    ``status``: the executor's final status (from ``result.json`` or the ``run_finished``
    event), else ``running`` while the writing process lives, else ``incomplete``.
    """

    run_id: str
    run_dir: Path
    status: str
    pattern: str | None = None
    started: str | None = None
    finished: str | None = None
    exit_code: int | None = None


def read_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The events of a run in order; a torn (killed mid-write) or garbled line is skipped."""
    try:
        f = open(Path(run_dir) / EVENTS_FILE, "rb")
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def load_result(run_dir: Path) -> dict[str, Any] | None:
    """``result.json`` of a run, or ``None`` when it is missing or unreadable."""
    return _load_json(Path(run_dir) / "result.json")


def _alive(run_dir: Path) -> bool:
    """Whether some process still has a Journal open on ``run_dir``."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases our probe lock at once
    return False


def _pattern_name(v: Any) -> str | None:
    if isinstance(v, Mapping):
        v = v.get("name")
    return v if isinstance(v, str) else None


def summarize(run_dir: Path) -> RunSummary:
    """Summary of one run directory (see ``RunSummary``)."""
    run_dir = Path(run_dir)
    run = _load_json(run_dir / "run.json") or {}
    result = load_result(run_dir) or {}
    pattern, started = _pattern_name(run.get("pattern")), run.get("startedAt")
    status, exit_code, finished = result.get("status"), result.get("exitCode"), result.get("finishedAt")
    if not (pattern and started and status):  # reconstruct what is missing from the events
        for e in read_events(run_dir):
            if e.get("event") == "run_started":
                pattern = pattern or _pattern_name(e.get("pattern"))
                started = started or e.get("time")
            elif e.get("event") == "run_finished":
                status = status or e.get("status")
                exit_code = exit_code if exit_code is not None else e.get("exitCode")
                finished = finished or e.get("time")
    if not status:
        status = "running" if _alive(run_dir) else "incomplete"
    return RunSummary(
        run_id=run_dir.name,
        run_dir=run_dir,
        status=str(status),
        pattern=pattern,
        started=started if isinstance(started, str) else None,
        finished=finished if isinstance(finished, str) else None,
        exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
    )


def _sort_time(s: RunSummary) -> float:
    if s.started:
        try:
            return datetime.fromisoformat(s.started).timestamp()
        except ValueError:
            pass
    try:
        return s.run_dir.stat().st_mtime
    except OSError:
        return 0.0


def list_runs(state_dir: Path) -> list[RunSummary]:
    """Every run under ``<state_dir>/runs``, newest first (by start time, then run id)."""
    runs_dir = Path(state_dir) / "runs"
    try:
        dirs = [p for p in runs_dir.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    summaries = [summarize(d) for d in dirs]
    summaries.sort(key=lambda s: (_sort_time(s), s.run_id), reverse=True)
    return summaries
