"""``PtySession``: one program in a real PTY, in its own process group (see runner.agents.pty)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.agents.pty.output import Output, drain, search
from runner.agents.pty.proc import (
    Hit,
    PtyCancelled,
    PtyEOF,
    PtyError,
    PtyInactive,
    PtySpawnError,
    PtyTimeout,
    build_env,
    killpg,
    ready,
    set_nonblocking,
    spawn_in_pty,
)

DIMENSIONS = (40, 120)  # rows, columns
_QUIET_AFTER_EXIT = 0.2  # s: a grandchild may keep the PTY open after the program exited
_EXIT_AFTER_EOF = 2.0  # s: the PTY closed; give the program this long to exit (for its status)


class PtySession:
    """A program in a PTY (40x120, utf-8 with errors replaced), in its own process group.

    ``argv`` is a list (never a shell string); ``env`` is complete (see ``build_env``).
    With ``stdin_pipe`` the program's stdin is a pipe (``send``/``send_eof`` write to it and
    close it: a real EOF, no line-length limit) while stdout/stderr stay on the terminal.
    All methods are thread-safe; ``close`` may be called from any thread at any time.
    """

    def __init__(self, argv: Sequence[str], *, cwd: str | Path | None = None,
                 env: Mapping[str, str] | None = None,
                 on_output: Callable[[str], None] | None = None, stdin_pipe: bool = False,
                 dimensions: tuple[int, int] = DIMENSIONS, max_transcript: int = 4_000_000) -> None:
        if isinstance(argv, str) or not argv:
            raise TypeError("argv must be a non-empty list of strings")
        self.argv = [str(a) for a in argv]
        self.cwd = str(cwd) if cwd is not None else os.getcwd()
        self.env = dict(env) if env is not None else build_env({})
        self.stdin_pipe = stdin_pipe
        self.dimensions = dimensions
        self.pid: int | None = None
        self.exit_status: int | None = None
        self.signal_status: int | None = None
        self.rusage: Any = None  # resource usage of the program (and what it waited for), once reaped
        self.started_at = 0.0
        self._out = Output(max_transcript, on_output)
        self._close_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._exited = threading.Event()
        self._cancelled = False
        self._closed = False
        self._cursor = 0
        self._started = False
        self._fd = -1
        self._stdin_w = -1
        # written on exit/close, never drained: one eventfd (a pipe took two fds per agent, issue 18),
        # made once the program runs (a session not yet started holds none)
        self._wake_r = self._wake_w = -1
        self._threads: list[threading.Thread] = []
        self._reap_lock = threading.Lock()
        self._pidfd = -1
        self._reader_error = ""

    # ------------------------------------------------------------ start

    def start(self) -> None:
        """Start the program; returns once it has exec'd (or raises ``PtySpawnError``;
        ``PtyCancelled`` when ``close`` came first)."""
        with self._close_lock:  # a concurrent close() waits until there is a pid to kill
            if self._cancelled or self._closed:
                raise PtyCancelled("session closed before it started")
            if self._started:
                raise PtyError("session already started")
            self._start()

    def _start(self) -> None:
        if not Path(self.cwd).is_dir():  # a clear error, not env's exit status
            raise PtySpawnError(f"working directory {self.cwd} does not exist")
        stdin_r = -1
        try:
            if self.stdin_pipe:
                stdin_r, self._stdin_w = os.pipe()
        except OSError as exc:  # out of fds
            raise PtySpawnError(f"cannot start {self.argv[0]}: {exc}") from exc
        try:
            self.pid, self._fd = spawn_in_pty(self.argv, self.cwd, self.env, self.dimensions, stdin_r)
        except PtySpawnError:
            self._close_fds()
            raise
        finally:
            if stdin_r >= 0:
                os.close(stdin_r)
        self._started = True
        pid = self.pid
        try:
            self._wake_r = self._wake_w = os.eventfd(0, os.EFD_CLOEXEC)
        except OSError as exc:  # out of fds: the program must not run unwatched
            killpg(pid, signal.SIGKILL)
            self._reap()
            self._close_fds()
            raise PtySpawnError(f"cannot start {self.argv[0]}: {exc}") from exc
        set_nonblocking(self._fd)
        if self._stdin_w >= 0:
            set_nonblocking(self._stdin_w)
        self.started_at = self._out.last = time.monotonic()
        try:  # the reader thread watches for the exit too (one thread less to start)
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
        targets: list[Callable[[], object]] = [self._read] if self._pidfd >= 0 else [self._reap, self._read]
        for target in targets:
            t = threading.Thread(target=target, name=f"pty-{target.__name__}-{self.pid}", daemon=True)
            t.start()
            self._threads.append(t)

    # ------------------------------------------------------------ state

    @property
    def alive(self) -> bool:
        """The program has started and not exited."""
        return self._started and not self._exited.is_set()

    @property
    def eof(self) -> bool:
        """All output has been read (the program closed the terminal or was stopped)."""
        return self._out.eof

    def mark(self) -> int:
        """The current end of the transcript, to pass to ``output_since`` / ``wait_for``."""
        return self._out.mark()

    def output_since(self, mark: int = 0, end: int | None = None) -> str:
        """ANSI-stripped output from ``mark`` (to ``end``), as far as the bounded transcript
        still holds it."""
        return self._out.since(mark, end)

    def wait_exit(self, timeout: float | None = None) -> bool:
        """Wait until the program exited (and was reaped); False on timeout."""
        if self._exited.is_set() or not self._started:
            return self._exited.is_set()
        try:
            return self._wait_exit(timeout)
        except (OSError, ValueError):  # closed meanwhile
            return self._exited.is_set()

    # ------------------------------------------------------------ input

    def send(self, text: str, timeout: float | None = None) -> None:
        """Type ``text`` (to the terminal, or to the stdin pipe). Blocks while the program
        does not read: ``PtyTimeout`` after ``timeout`` s, ``PtyCancelled`` on ``close``,
        ``PtyEOF`` when it exited."""
        fd = self._stdin_w if self.stdin_pipe else self._fd
        self._write(fd, text.encode("utf-8"), timeout)

    def send_eof(self) -> None:
        """End of input: close the stdin pipe, or type the terminal's EOF character (twice
        when the current line is not empty: the first one only ends the line)."""
        if self.stdin_pipe:
            with self._write_lock:
                if self._stdin_w >= 0:
                    os.close(self._stdin_w)
                    self._stdin_w = -1
            return
        try:
            eof = bytes([termios.tcgetattr(self._fd)[6][termios.VEOF][0]])
        except (termios.error, OSError, TypeError, IndexError):
            eof = b"\x04"
        self._write(self._fd, eof + eof, None)

    def _write(self, fd: int, data: bytes, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._write_lock:
            while data:
                if self._cancelled:
                    raise PtyCancelled("session closed")
                if fd < 0 or not self._started:
                    raise PtyError("session not started or input already closed")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise PtyTimeout(f"the program did not read its input within {timeout:g}s",
                                     self.output_since(0))
                readable, writable = ready([self._wake_r], [fd], left)
                if readable and (self._cancelled or self._exited.is_set()):
                    if self._cancelled:
                        raise PtyCancelled("session closed")
                    raise self._eof_error()
                if writable:
                    try:
                        data = data[os.write(fd, data[:4096]):]
                    except BlockingIOError:
                        continue
                    except OSError as exc:  # EPIPE / EIO: the program is gone
                        raise self._eof_error() from exc

    # ------------------------------------------------------------ matching

    def wait_for(self, patterns: Mapping[str, re.Pattern[str]], timeout: float | None = None,
                 inactivity: float | None = None, since: int | None = None) -> Hit:
        """Wait until one of ``patterns`` matches the stripped output after ``since``.

        ``since`` defaults to the end of the previous hit (like pexpect's expect). The earliest
        match wins (ties: the first pattern). Raises ``PtyTimeout`` after ``timeout`` seconds,
        ``PtyInactive`` after ``inactivity`` seconds without any output, ``PtyEOF`` when the
        program ended first, ``PtyCancelled`` when ``close`` was called. With no patterns it
        simply waits for EOF (which then raises ``PtyEOF``).
        """
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        waiting_since = now
        with self._out.cond:
            start = self._cursor if since is None else since
            searched = start
            while True:
                if self._cancelled:
                    raise PtyCancelled("session closed", self._out.transcript.since(start))
                if patterns and searched < self._out.transcript.total:
                    window = self._out.window(start, searched)
                    searched = self._out.transcript.total
                    self._out.cond.release()  # the reader keeps draining while we match
                    try:
                        hit = search(patterns, *window)
                    finally:
                        self._out.cond.acquire()
                    if hit is not None:
                        self._cursor = hit.end
                        return hit
                elif not patterns:
                    searched = self._out.transcript.total
                behind = searched < self._out.transcript.total  # output came while we matched
                if self._out.eof and not behind:
                    raise self._eof_error(self._out.transcript.since(start))
                now = time.monotonic()
                waits: list[float] = []
                if deadline is not None:
                    if now >= deadline:
                        raise PtyTimeout(f"no match within {timeout:g}s", self._out.transcript.since(start))
                    waits.append(deadline - now)
                if inactivity is not None:
                    idle_from = max(self._out.last, waiting_since)
                    if now - idle_from >= inactivity:
                        raise PtyInactive(f"no output for {inactivity:g}s", self._out.transcript.since(start))
                    waits.append(idle_from + inactivity - now)
                if not behind:
                    self._out.cond.wait(min(waits) if waits else None)

    def _eof_error(self, output: str = "") -> PtyEOF:
        return PtyEOF.of(self.argv[0], self.exit_status, self.signal_status, self._reader_error, output)

    # ------------------------------------------------------------ threads

    def _reap(self, block: bool = True) -> bool:
        """``wait4`` the program once (whichever thread gets here first); True if reaped."""
        with self._reap_lock:
            if self._exited.is_set():
                return True
            try:
                pid, status, self.rusage = os.wait4(self.pid or -1, 0 if block else os.WNOHANG)
                if pid == 0:
                    self.rusage = None
                    return False
                if os.WIFSIGNALED(status):
                    self.signal_status = os.WTERMSIG(status)
                else:
                    self.exit_status = os.waitstatus_to_exitcode(status)
            except ChildProcessError:  # someone else reaped it; the status is lost
                pass
            self._exited.set()
        self._wake()  # wakes a blocked send()
        with self._out.cond:
            self._out.cond.notify_all()
        return True

    def _wake(self) -> None:
        """Wake the reader and a blocked send (no-op before the program runs: nobody waits)."""
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.eventfd_write(self._wake_w, 1)

    def _wait_exit(self, timeout: float | None, interruptible: bool = False) -> bool:
        """Wait (and reap) up to ``timeout`` s; ``interruptible``: return early on close()."""
        if self._pidfd < 0:  # a reaper thread does the waiting
            return self._exited.wait(timeout)
        rlist = [self._pidfd, self._wake_r] if interruptible else [self._pidfd]
        if self._pidfd in ready(rlist, (), timeout)[0]:
            return self._reap()
        return self._exited.is_set()

    def _read(self) -> None:
        fd, pidfd, exited = self._fd, self._pidfd, False
        try:
            while not self._cancelled:
                if exited:  # drain what is left; a grandchild may hold the terminal open
                    rlist, timeout = [fd], _QUIET_AFTER_EXIT
                else:
                    rlist, timeout = [fd, self._wake_r] + ([pidfd] if pidfd >= 0 else []), None
                readable = ready(rlist, (), timeout)[0]
                if not readable:
                    break  # the program exited and nothing more came
                if pidfd >= 0 and pidfd in readable:
                    self._reap()
                if self._wake_r in readable or self._exited.is_set():
                    exited = True
                if fd in readable:
                    data, ended = drain(fd)
                    if data:
                        self._out.feed(data)
                    if ended:
                        break
            self._out.feed(b"", final=True)
            if not self._cancelled:
                self._wait_exit(_EXIT_AFTER_EOF, interruptible=True)  # for its exit status
        except Exception as exc:  # noqa: BLE001 - a reader that dies ends the session (told by wait_for)
            self._reader_error = f"{type(exc).__name__}: {exc}"
        finally:
            self._out.end()

    # ------------------------------------------------------------ stop

    def close(self, grace: float = 3.0, sig: int = signal.SIGTERM, wait: bool = True) -> None:
        """Stop the program: ``sig`` to its whole process group, up to ``grace`` seconds for
        the group to go, then SIGKILL to the group. Reaps it, closes the fds. Idempotent;
        a concurrent ``wait_for``/``send`` raises ``PtyCancelled`` at once. With ``wait``
        False, return at once if another thread is already closing the session."""
        if not self._close_lock.acquire(blocking=wait):
            return
        try:
            if not self._closed:
                self._shutdown(grace, sig)
                self._closed = True
        finally:
            self._close_lock.release()

    def _shutdown(self, grace: float, sig: int) -> None:
        with self._out.cond:
            self._cancelled = True
            self._out.cond.notify_all()
        self._wake()
        if self.pid is not None:
            self._kill_group(grace, sig)
            self._wait_exit(5.0)  # SIGKILLed; only a process stuck in the kernel takes longer
            for t in self._threads:
                if t is not threading.current_thread():  # close() from an output callback
                    t.join(5.0)
        self._close_fds()

    def _kill_group(self, grace: float, sig: int) -> None:
        pgid = self.pid
        assert pgid is not None
        if grace > 0 and not self._exited.is_set():
            killpg(pgid, sig)
            killpg(pgid, signal.SIGCONT)  # a stopped process would never see `sig`
            self._wait_exit(grace)
        # Whatever is left of the group (children the program left behind) goes at once:
        # they got `sig` together with the program.
        killpg(pgid, signal.SIGKILL)

    def _close_fds(self) -> None:
        with self._write_lock:
            for fd in (self._fd, self._stdin_w, self._wake_r, self._pidfd):  # _wake_w is _wake_r
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._stdin_w = self._wake_r = self._wake_w = self._pidfd = -1
