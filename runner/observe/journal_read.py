"""Reading the journals runs leave in ``<state-dir>/runs/<run-id>/`` (for ``runs`` and ``logs``).

A run directory holds ``run.json`` (``runId``, ``pattern``, ``pool``, ``startedAt``, ``pid``),
``events.jsonl`` (one JSON object per line, each with ``time`` and ``event``), ``result.json``
once the run has finished, and ``agents/<agent-id>.log`` (PTY transcripts). A run without
``result.json`` is ``running`` while its pid lives, ``unfinished`` after (it was killed).
Unreadable or half-written files are skipped, never fatal: a run may be writing them right now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import UsageError


def _load(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _name(value: Any) -> str:
    """``pattern``/``pool`` may be a name or ``{"name": ...}``."""
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return "" if value is None else str(value)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


@dataclass(frozen=True)
class RunRecord:
    """What one run directory says about its run."""

    dir: Path
    run: dict[str, Any]
    result: dict[str, Any] | None

    @property
    def run_id(self) -> str:
        return str(self.run.get("runId") or self.dir.name)

    @property
    def pattern(self) -> str:
        return _name((self.result or {}).get("pattern") or self.run.get("pattern"))

    @property
    def pool(self) -> str:
        return _name((self.result or {}).get("pool") or self.run.get("pool"))

    @property
    def started_at(self) -> str:
        return str((self.result or {}).get("startedAt") or self.run.get("startedAt") or "")

    @property
    def status(self) -> str:
        if self.result is not None:
            return str(self.result.get("status", "unknown"))
        return "running" if _alive(self.run.get("pid")) else "unfinished"

    @property
    def finished(self) -> bool:
        return self.result is not None or not _alive(self.run.get("pid"))

    @property
    def duration_ms(self) -> int | None:
        value = (self.result or {}).get("durationMs")
        return value if isinstance(value, int) else None

    def events(self) -> list[dict[str, Any]]:
        return list(read_events(self.dir / "events.jsonl"))

    def summary(self) -> dict[str, Any]:
        return {"runId": self.run_id, "pattern": self.pattern, "pool": self.pool, "status": self.status,
                "startedAt": self.started_at, "durationMs": self.duration_ms}


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a journal; a torn last line (the run is writing it) is skipped."""
    try:
        fh = path.open(encoding="utf-8", errors="replace")
    except OSError:
        return
    with fh:
        for line in fh:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                yield doc


def load_run(run_dir: Path) -> RunRecord:
    """The record of one run directory (re-read on every call: a running run changes it)."""
    return RunRecord(run_dir, _load(run_dir / "run.json") or {}, _load(run_dir / "result.json"))


def list_runs(state_dir: Path) -> list[RunRecord]:
    """Every run under ``state_dir``, newest first (run ids sort by start time)."""
    runs_dir = state_dir / "runs"
    if not runs_dir.is_dir():
        return []
    dirs = [d for d in runs_dir.iterdir() if d.is_dir() and ((d / "run.json").exists() or (d / "result.json").exists())]
    return sorted((load_run(d) for d in dirs), key=lambda r: (r.started_at, r.run_id), reverse=True)


def find_run(state_dir: Path, run_id: str) -> RunRecord:
    """The run named ``run_id``: exact, a unique prefix, or ``latest``; else a ``UsageError``."""
    runs = list_runs(state_dir)
    if run_id in ("latest", "last") and runs:
        return runs[0]
    exact = [r for r in runs if r.run_id == run_id or r.dir.name == run_id]
    if exact:
        return exact[0]
    matches = [r for r in runs if r.run_id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"run id {run_id!r} is ambiguous: {', '.join(r.run_id for r in matches[:5])}")
    raise UsageError(f"no run {run_id!r} in {state_dir / 'runs'} (`runner runs list` shows the runs)")
