"""The pieces under ``PtySession``: its environment, its errors, and the spawn itself.

``spawn_in_pty`` starts the program with ``posix_spawn`` (glibc's is vfork-style: no copy
of runner's page tables, no Python run in the child; a fork of a runner holding hundreds
of agents cost ~15 ms of CPU each, issue 18): the child starts a new session, opens the
PTY's slave by name (the first terminal a session leader opens becomes its controlling
terminal) and execs coreutils ``env -C <cwd>`` (posix_spawn cannot change directory),
which execs the program; where ``env`` has no ``-C`` (coreutils before 8.28, say: asked
once per process), ``/bin/sh -c 'cd -- "$1" && exec "$@"'`` does the same. Signals runner
ignores (SIGPIPE, SIGXFSZ; SIGINT when started in the background) are back to their defaults
in the program: its terminal is its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import termios
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

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


_ENV = shutil.which("env", path=os.defpath) or "/usr/bin/env"
_CD_THEN_EXEC = ["/bin/sh", "-c", 'cd -- "$1" || exit 127; shift; exec "$@"', "sh"]
_DEFAULT_SIGNALS = tuple(sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}))
_once = threading.Lock()
_env_has_chdir: bool | None = None  # asked at the first spawn
_inherited_marked = False


def find_program(program: str, cwd: str, path: str) -> str | None:
    """Where ``program`` is: a name with a ``/`` relative to ``cwd``, else on ``path``; None
    when not found or not executable."""
    if os.sep in program:
        found = os.path.join(cwd, program)
        return found if os.path.isfile(found) and os.access(found, os.X_OK) else None
    return shutil.which(program, path=path)


def spawn_in_pty(argv: Sequence[str], cwd: str, env: Mapping[str, str], dimensions: tuple[int, int],
                 stdin_fd: int = -1) -> tuple[int, int]:
    """Start ``argv`` in ``cwd`` as the leader of a new session whose controlling terminal is
    a new PTY of ``dimensions`` (rows, columns); stdout and stderr are the terminal, stdin
    too unless ``stdin_fd`` (a pipe's read end) is given. Returns (pid, PTY master fd).
    Raises ``PtySpawnError`` for a program that is not found or not executable (checked here;
    a failed exec after the check shows as the program exiting 126/127 with the message of
    ``env`` or ``sh``) and when the PTY cannot be made (out of fds, out of PTYs)."""
    program = argv[0]
    if find_program(program, cwd, env.get("PATH", os.defpath)) is None:
        raise PtySpawnError(f"cannot start {program}: not found or not executable")
    chdir = _chdir_prefix(cwd)
    master = slave = low = -1
    try:
        master, slave = os.openpty()
        rows, columns = dimensions
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        if 0 <= stdin_fd < 3:  # the file actions below write fds 0-2 before they read it
            stdin_fd = low = fcntl.fcntl(stdin_fd, fcntl.F_DUPFD_CLOEXEC, 3)
        actions = [(os.POSIX_SPAWN_OPEN, 1, os.ttyname(slave), os.O_RDWR, 0),
                   (os.POSIX_SPAWN_DUP2, 1, 2),
                   (os.POSIX_SPAWN_DUP2, stdin_fd if stdin_fd >= 0 else 1, 0)]
        pid = os.posix_spawn(chdir[0], [*chdir, *argv], dict(env), file_actions=actions,
                             setsid=True, setsigmask=(), setsigdef=_DEFAULT_SIGNALS)
    except OSError as exc:
        if master >= 0:
            os.close(master)
        raise PtySpawnError(f"cannot start {program}: {exc}") from exc
    finally:
        for fd in (slave, low):
            if fd >= 0:
                os.close(fd)
    return pid, master


def _chdir_prefix(cwd: str) -> list[str]:
    """What to exec before the program so that it runs in ``cwd``. The first call also marks
    close-on-exec the fds this process inherited without it (a CI job's pipes): posix_spawn
    closes nothing else, and Python's own fds are all close-on-exec (PEP 446)."""
    global _env_has_chdir, _inherited_marked
    if _env_has_chdir is None or not _inherited_marked:
        with _once:
            if not _inherited_marked:
                with contextlib.suppress(OSError):
                    for name in os.listdir("/proc/self/fd"):
                        if int(name) > 2:
                            with contextlib.suppress(OSError):
                                os.set_inheritable(int(name), False)
                _inherited_marked = True
            if _env_has_chdir is None:
                try:
                    _env_has_chdir = subprocess.run([_ENV, "-C", "/", "true"], env={"PATH": os.defpath},
                                                    capture_output=True, timeout=10).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    _env_has_chdir = False
    return [_ENV, "-C", cwd, "--"] if _env_has_chdir else [*_CD_THEN_EXEC, cwd]


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
