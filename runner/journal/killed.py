"""Marking a run whose runner was killed (``runner gc`` does): it then reads as ``killed``."""

from __future__ import annotations

import os
from pathlib import Path

from runner.journal.jsonable import dumps_line, iso_time
from runner.journal.layout import EVENTS_FILE, RESULT_FILE, RUN_KILLED, UNFINISHED
from runner.journal.liveness import hold_exclusive
from runner.journal.reader import load_run

__all__ = ["mark_killed"]


def mark_killed(run_dir: Path, reason: str = "its runner was killed") -> bool:
    """Record that the run in ``run_dir`` was killed; from then on it reads as ``killed``.

    Only a run that has a journal, is not running and did not finish is marked (the lock is
    held exclusively while marking, so no writer can start meanwhile). Returns whether it was
    marked now; marking twice is harmless (the second call returns False).
    """
    run_dir = Path(run_dir)
    fd = hold_exclusive(run_dir)
    if fd is None:
        return False
    try:
        record = load_run(run_dir, running=False)  # we hold the lock: no writer
        if record.status != UNFINISHED or (run_dir / RESULT_FILE).exists():
            return False
        out = os.open(run_dir / EVENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(out).st_size
            torn = size and _last_byte(run_dir / EVENTS_FILE, size) != b"\n"
            line = dumps_line({"time": iso_time(), "event": RUN_KILLED, "reason": reason})
            os.write(out, (b"\n" if torn else b"") + line)
            os.fsync(out)
        finally:
            os.close(out)
        return True
    finally:
        os.close(fd)


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1)
