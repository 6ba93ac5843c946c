"""Reading run journals back: the events of a run, its result, one run's record, the list of runs.

See ``runner.journal`` for the layout of a run directory. Reading never fails on a run a
killed process left behind, nor on one being written right now: a torn last line is skipped,
a missing or half-written file is "not there".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.journal.layout import EVENTS_FILE, KILLED, RESULT_FILE, RUN_FILE, RUN_KILLED, RUNNING, UNFINISHED
from runner.journal.liveness import is_running

__all__ = ["RunRecord", "find_run", "list_runs", "load_result", "load_run", "read_events"]


def read_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The events of a run in order; a torn (killed mid-write) or garbled line is skipped."""
    try:
        f = open(Path(run_dir) / EVENTS_FILE, "rb")
    except OSError:
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
    return _load_json(Path(run_dir) / RESULT_FILE)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One run as its journal tells it, read at one moment (``load_run`` again for news).

    ``status``: the executor's final one (``result.json``, else the ``run_finished`` event),
    else ``running`` while the journal's lock is held, else ``killed`` when ``runner gc``
    marked it, else ``unfinished``. ``run`` and ``result`` are the files as read (``{}`` /
    ``None`` when missing); the other fields fall back on the events when the files lack them.
    """

    dir: Path
    run_id: str
    status: str
    pattern: str | None = None
    pool: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    run: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    result: dict[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def finished(self) -> bool:
        """Nothing will be added to this run's journal any more (finished, killed or unfinished)."""
        return self.status != RUNNING

    def events(self) -> list[dict[str, Any]]:
        return list(read_events(self.dir))

    def summary(self) -> dict[str, Any]:
        """The run as ``runner runs list --json`` prints it."""
        return {"runId": self.run_id, "pattern": self.pattern or "", "pool": self.pool or "",
                "status": self.status, "startedAt": self.started_at or "", "durationMs": self.duration_ms}


def _name(v: Any) -> str | None:
    """``pattern``/``pool`` may be a name or ``{"name": ...}``."""
    if isinstance(v, Mapping):
        v = v.get("name")
    return v if isinstance(v, str) and v else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def load_run(run_dir: Path, *, running: bool | None = None) -> RunRecord:
    """The record of one run directory (see ``RunRecord``); ``running`` is what the caller
    knows of the lock (it holds it itself), ``None`` to ask the lock."""
    run_dir = Path(run_dir)
    # The lock first: a writer releases it only after its last file is written, so a run seen
    # not running here has all its files on disk when they are read below.
    if running is None:
        running = is_running(run_dir)
    run = _load_json(run_dir / RUN_FILE) or {}
    result = load_result(run_dir)
    res = result or {}
    pattern, pool = _name(res.get("pattern")) or _name(run.get("pattern")), _name(res.get("pool")) or _name(run.get("pool"))
    started = _str(res.get("startedAt")) or _str(run.get("startedAt"))
    status, exit_code, finished = _str(res.get("status")), _int(res.get("exitCode")), _str(res.get("finishedAt"))
    killed = False
    if result is None or not (pattern and started and status):  # what is missing, from the events
        for e in read_events(run_dir):
            name = e.get("event")
            if name == "run_started":
                pattern, pool = pattern or _name(e.get("pattern")), pool or _name(e.get("pool"))
                started = started or _str(e.get("time"))
            elif name == "run_finished":
                status = status or _str(e.get("status"))
                exit_code = exit_code if exit_code is not None else _int(e.get("exitCode"))
                finished = finished or _str(e.get("time"))
            elif name == RUN_KILLED:
                killed = True
    if not status:
        status = RUNNING if running else KILLED if killed else UNFINISHED
    return RunRecord(dir=run_dir, run_id=_str(run.get("runId")) or _str(res.get("runId")) or run_dir.name,
                     status=status, pattern=pattern, pool=pool, started_at=started, finished_at=finished,
                     exit_code=exit_code, duration_ms=_int(res.get("durationMs")), run=run, result=result)


def _sort_time(r: RunRecord) -> float:
    if r.started_at:
        try:
            return datetime.fromisoformat(r.started_at).timestamp()
        except ValueError:
            pass
    try:
        return r.dir.stat().st_mtime
    except OSError:
        return 0.0


def list_runs(state_dir: Path) -> list[RunRecord]:
    """Every run under ``<state_dir>/runs``, newest first (by start time, then run id)."""
    try:
        dirs = [p for p in (Path(state_dir) / "runs").iterdir() if p.is_dir()]
    except OSError:
        return []
    records = [load_run(d) for d in dirs]
    records.sort(key=lambda r: (_sort_time(r), r.run_id), reverse=True)
    return records


def find_run(state_dir: Path, run_id: str) -> RunRecord:
    """The run named ``run_id``: exact, a unique prefix, or ``latest``; else a ``UsageError``."""
    runs = list_runs(state_dir)
    if run_id in ("latest", "last") and runs:
        return runs[0]
    exact = [r for r in runs if run_id in (r.run_id, r.dir.name)]
    if exact:
        return exact[0]
    matches = [r for r in runs if r.run_id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"run id {run_id!r} is ambiguous: {', '.join(r.run_id for r in matches[:5])}")
    raise UsageError(f"no run {run_id!r} in {Path(state_dir) / 'runs'} (`runner runs list` shows the runs)")
