"""The agent server's per-task directories (``$TMPDIR/runner-workspace-*``): labelled with their
owner, removed when the task ends, swept when the owner is gone however it ended.

Layout of one directory::

    runner-workspace-XXXX/
      owner.lock   held (flock, exclusive) by the server process for the task's whole life;
                   holds "pid <pid> started <process start time>" for people and `runner gc`
      work/        the task's checkout (the agent works here; nothing of it is the label)

The kernel drops the lock when its process ends, SIGKILL included, so "nobody holds the lock"
is exactly "the owner is gone" (a pid could have been reused; the lock cannot). The lock file is
made under another name, locked, then renamed into place: a sweeper never sees an
``owner.lock`` that is not yet held. ``sweep`` removes the directories whose lock it can take
(``runner agent serve`` at start, ``runner gc``); one without an ``owner.lock`` (an older
runner's, or one being made) is left alone, since its owner cannot be told.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from runner.flocks import take_if_free
from runner.runtimes.base import Leftover

TEMP_PREFIX = "runner-workspace-"  # under $TMPDIR
LOCK = "owner.lock"
WORK = "work"


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh labelled directory; yields its ``work/`` (created, empty). Removed at the end."""
    top = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)).resolve()
    fd = None
    try:
        fd = _label(top)
        work = top / WORK
        work.mkdir()
        yield work
    finally:
        remove_tree(top)  # the lock goes with its file; closing the descriptor drops it
        if fd is not None:
            os.close(fd)


def _label(top: Path) -> int:
    making = top / f".{LOCK}.new"
    fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"pid {os.getpid()} started {_started(os.getpid())}\n".encode())
        os.rename(making, top / LOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _started(pid: int) -> str:
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return "?"


def sweep(where: Path | None = None, *, dry_run: bool = False) -> list[Leftover]:
    """Remove (with ``dry_run``: list) every directory of ``where`` (``$TMPDIR``) whose owner is gone."""
    base = Path(where or tempfile.gettempdir())
    out = []
    for top in sorted(base.glob(TEMP_PREFIX + "*")) if base.is_dir() else []:
        fd = _take(top)
        if fd is None:
            continue
        try:
            owner = _owner(fd)
            if not dry_run:
                remove_tree(top)
        finally:
            os.close(fd)
        gone = "would remove" if dry_run else "removed" if not top.exists() else "FAILED: still there"
        out.append(Leftover(kind="server workspace", name=f"{top} ({owner}, gone)", run_id="", status=gone))
    return out


def _take(top: Path) -> int | None:
    """The lock of ``top`` held by us (its owner is gone), or None: alive, or not labelled."""
    if top.is_symlink() or not top.is_dir():
        return None
    return take_if_free(top / LOCK, follow_links=False)


def _owner(fd: int) -> str:
    words = os.pread(fd, 200, 0).decode(errors="replace").split()
    return f"agent server pid {words[1]}" if len(words) >= 2 and words[0] == "pid" else "agent server ?"


def remove_tree(root: Path) -> None:
    """``root`` and everything in it, even directories an agent left unwritable."""
    for folder, dirs, _files in os.walk(root):
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)


__all__ = ["LOCK", "TEMP_PREFIX", "WORK", "remove_tree", "scratch", "sweep"]
