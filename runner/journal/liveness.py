"""Whether a run is still running: its journal's lock, held by the process that writes it.

The writer holds ``<run-dir>/.lock`` with a shared ``flock`` for the whole run (``RunLock``);
the kernel drops the lock when that process ends, however it ends (SIGKILL included). A
reader asks ``is_running``: it tries to take the lock exclusively without waiting, which
fails exactly while some writer holds it. A pid in ``run.json`` is not asked: after a crash
the pid may belong to another process.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from runner.flocks import take_if_free
from runner.journal.layout import LOCK_FILE

__all__ = ["RunLock", "hold_exclusive", "is_running"]


class RunLock:
    """The writer's hold on ``<run_dir>/.lock`` (shared, so a probe cannot take it) until ``release()``.

    The ``Journal`` takes one for its lifetime. Tests that write a journal by hand hold one
    to make their run count as running, exactly as a live runner does.
    """

    def __init__(self, run_dir: Path) -> None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(run_dir / LOCK_FILE, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Let go of the lock (idempotent): the run no longer counts as running."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_exclusive(run_dir: Path) -> int | None:
    """The lock file's descriptor holding the lock exclusively, or None while a writer holds it
    (or there is no lock file: no writer ever opened this run)."""
    return take_if_free(Path(run_dir) / LOCK_FILE)


def is_running(run_dir: Path) -> bool:
    """Whether a process still holds the journal of ``run_dir`` open (the run is going on)."""
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops our probe's lock at once
    return False
