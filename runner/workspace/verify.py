"""Run a step's ``verify`` command in an agent's workspace: exit 0 means the change is verified.

The command runs with ``/bin/sh -c`` in its own process group (a timeout or a stopping run
kills all of it), with the runner's environment plus ``verify.env``, ``RUNNER_WORKSPACE``
and the run's labels (so ``runner gc`` finds a verify left behind). Its combined output's
tail is the *feedback* a retry's task template sees as ``attempt.feedback``.

A ``Sandbox`` runs it somewhere else (a docker agent's: a container of the agent's image,
``runner.runtimes.docker_verify``): its ``argv`` is what is started instead of the shell (it
gets ``verify.env``, ``RUNNER_WORKSPACE`` and the labels by name only), and its ``discard``
runs afterwards whatever happened (a killed client must not leave its container running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FEEDBACK_CHARS = 4000  # the tail of the verify output kept as feedback
_POLL = 0.2  # s between checks of the run's stop flag


@dataclass(frozen=True, kw_only=True)
class Verification:
    ok: bool
    exit_code: int | None  # None: killed (timeout, stopped)
    output: str  # the tail of stdout+stderr
    duration_ms: int
    timed_out: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "exitCode": self.exit_code, "output": self.output,
                "durationMs": self.duration_ms, "timedOut": self.timed_out}

    def summary(self) -> str:
        if self.timed_out:
            return "verify timed out"
        return "verified" if self.ok else f"verify failed (exit {self.exit_code})"


class Sandbox(Protocol):
    """Where a verify runs when not on the host (see the module docstring)."""

    def argv(self, command: str, cwd: Path, names: Sequence[str]) -> list[str]:
        """The process to start: it runs ``command`` in ``cwd`` with the variables ``names``
        (their values are in the started process's environment)."""
        ...

    def discard(self) -> None:
        """Remove what ``argv`` started, whatever state it is in; never raises."""
        ...


def run_verify(command: str, cwd: Path, *, timeout: float | None, env: Mapping[str, str],
               stopping: threading.Event | None = None, sandbox: Sandbox | None = None) -> Verification:
    """Run ``command`` in ``cwd`` (in ``sandbox`` when given); never raises for the command's own failure."""
    if sandbox is None:
        return _run(["/bin/sh", "-c", command], cwd, timeout, {**env, "RUNNER_WORKSPACE": str(cwd)}, stopping)
    ours = {**env, "RUNNER_WORKSPACE": str(cwd)}
    try:
        return _run(sandbox.argv(command, cwd, sorted(ours)), cwd, timeout, ours, stopping)
    finally:
        sandbox.discard()


def _run(argv: list[str], cwd: Path, timeout: float | None, env: Mapping[str, str],
         stopping: threading.Event | None) -> Verification:
    started = time.monotonic()
    full = {**os.environ, **env}
    try:
        proc = subprocess.Popen(argv, cwd=str(cwd), env=full, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return Verification(ok=False, exit_code=None, output=f"cannot run verify: {exc}", duration_ms=0)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(65536), b"")),  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    timed_out = False
    while proc.poll() is None:
        left = None if timeout is None else timeout - (time.monotonic() - started)
        if (left is not None and left <= 0) or (stopping is not None and stopping.is_set()):
            timed_out = left is not None and left <= 0
            _kill(proc)
            break
        try:
            proc.wait(_POLL if left is None else min(_POLL, left))
        except subprocess.TimeoutExpired:
            pass
    proc.wait()
    _kill(proc)  # what it left running in its group would hold the output pipe open
    reader.join(5.0)
    if not reader.is_alive():
        proc.stdout.close()  # type: ignore[union-attr]
    output = b"".join(chunks).decode(errors="replace")[-FEEDBACK_CHARS:]
    code = proc.returncode if proc.returncode is not None and proc.returncode >= 0 and not timed_out else None
    if timed_out:
        output += f"\n[verify timed out after {timeout:g}s]"
    return Verification(ok=code == 0, exit_code=code, output=output, timed_out=timed_out,
                        duration_ms=int((time.monotonic() - started) * 1000))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
