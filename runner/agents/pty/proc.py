"""The pieces under ``PtySession``: its environment, its errors, and the fork itself.

pexpect/ptyprocess fork the program into a PTY (the child becomes a session leader, so its
process group is its own); this module adds what they lack: an extra fd kept open in the
child (the stdin pipe) and signals to a whole process group.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import resource
import select
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import pexpect

#: the only variables of the runner's own environment a program inherits (no secrets)
BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ")


def build_env(extra: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: ``BASE_ENV_KEYS`` of ``base``, ``TERM``, then ``extra``."""
    base = os.environ if base is None else base
    env = {k: base[k] for k in BASE_ENV_KEYS if k in base}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


class PtyError(Exception):
    """Base of the session's own errors; the runtime maps them to ``AgentFailure`` kinds."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message)


class PtySpawnError(PtyError):
    """The program could not be started (not found, not executable, bad cwd)."""


class PtyEOF(PtyError):
    """The program closed the terminal / exited before a pattern matched."""

    def __init__(self, message: str, exit_status: int | None, signal_status: int | None,
                 output: str = "") -> None:
        self.exit_status = exit_status
        self.signal_status = signal_status
        super().__init__(message, output)

    @classmethod
    def of(cls, program: str, exit_status: int | None, signal_status: int | None, reader_error: str,
           output: str = "") -> PtyEOF:
        """How ``program`` ended, in words (and why reading its output stopped, if it failed)."""
        if signal_status is not None:
            how = f"was killed by signal {signal_status}"
        elif exit_status is not None:
            how = f"exited with status {exit_status}"
        else:
            how = "closed its terminal"
        if reader_error:
            how += f" (reading its output failed: {reader_error})"
        return cls(f"{program} {how}", exit_status, signal_status, output)


class PtyTimeout(PtyError):
    """``timeout`` seconds passed without a match."""


class PtyInactive(PtyError):
    """No output at all for ``inactivity`` seconds."""


class PtyCancelled(PtyError):
    """``close()`` was called while waiting."""


class Hit(NamedTuple):
    """A match: the pattern's name, the matched text and its absolute span in the transcript."""

    name: str
    text: str
    start: int
    end: int


class Spawn(pexpect.spawn):
    """pexpect.spawn that can keep extra fds open in the child (the stdin pipe)."""

    def __init__(self, *args, pass_fds: tuple[int, ...] = (), **kwargs) -> None:
        self.pass_fds = pass_fds
        kwargs.setdefault("use_poll", True)  # select() refuses fds past 1,024 (PtySession reads fds itself)
        super().__init__(*args, **kwargs)

    def _spawnpty(self, args, **kwargs):
        return super()._spawnpty(args, pass_fds=self.pass_fds, **kwargs)


def stdin_from(fd: int) -> None:
    """In the child, before exec: the pipe becomes stdin."""
    os.dup2(fd, 0)
    os.close(fd)


def set_nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR | select.POLLNVAL


def ready(read: Iterable[int], write: Iterable[int] = (), timeout: float | None = None) -> tuple[set[int], set[int]]:
    """``select.select`` for file descriptors, without its limit (it refuses any fd past 1,024,
    which a few hundred agents reach): ``poll(2)``. Returns the readable and the writable fds;
    hang-up and error count as ready (the read or write then says what happened), as with select.
    ``timeout`` in seconds, None: wait forever."""
    masks: dict[int, int] = {}
    for fd in read:
        masks[fd] = masks.get(fd, 0) | select.POLLIN | select.POLLPRI
    for fd in write:
        masks[fd] = masks.get(fd, 0) | select.POLLOUT
    poller = select.poll()
    for fd, mask in masks.items():
        poller.register(fd, mask)
    ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
    readable: set[int] = set()
    writable: set[int] = set()
    for fd, events in poller.poll(ms):
        if events & _READABLE and masks[fd] & select.POLLIN:
            readable.add(fd)
        if events & _WRITABLE and masks[fd] & select.POLLOUT:
            writable.add(fd)
    return readable, writable


def raise_fd_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (each agent holds about
    five: PTY, wake pipe, pidfd, stdin pipe, transcript); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):  # not allowed here: keep what we have
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
