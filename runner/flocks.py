"""The one way runner asks "is the process that labelled this still alive?": a lock file held
with ``flock`` by its owner for as long as it lives. The kernel drops the lock when the owner
ends, however it ends (SIGKILL included), so no pid, which may be reused, is trusted.
Used by the journal (``runner.journal.liveness``) and the agent server's task directories
(``runner.workspace.scratch``)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["take_if_free"]


def take_if_free(lock: Path, *, follow_links: bool = True) -> int | None:
    """The descriptor of ``lock`` held exclusively by us (its owner is gone), or ``None``: the
    owner still holds it, or there is no such file (nobody ever labelled it). With
    ``follow_links=False`` a symlink is not followed (a file in a directory others can write)."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(lock, flags)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: its owner is alive
        os.close(fd)
        return None
    return fd
