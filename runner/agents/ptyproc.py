"""The pieces under ``PtySession``: its environment, its errors, and the fork itself.

pexpect/ptyprocess fork the program into a PTY (the child becomes a session leader, so its
process group is its own); this module adds what they lack: an extra fd kept open in the
child (the stdin pipe) and signals to a whole process group.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Mapping
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

    def __init__(self, *args, pass_fds: tuple[int, ...] = (), **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.pass_fds = pass_fds
        super().__init__(*args, **kwargs)

    def _spawnpty(self, args, **kwargs):  # type: ignore[no-untyped-def]
        return super()._spawnpty(args, pass_fds=self.pass_fds, **kwargs)


def stdin_from(fd: int) -> None:
    """In the child, before exec: the pipe becomes stdin."""
    os.dup2(fd, 0)
    os.close(fd)


def set_nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
