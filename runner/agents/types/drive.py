"""A small PTY driver for the CLI types: start, watch the screen, send keys, stop for good.

Used by ``runner agents doctor``, the recordings and the CLI tests; the run itself drives
agents through the local runtime (``runner.runtimes.local``), which asks the type for the
same ``screen_detector``. Every session has a wall-clock deadline, drains the PTY
continuously (gemini redraws ~2 MB per 100 s), kills the whole process group, and sweeps
any process still carrying this agent's ``RUNNER_AGENT_ID`` (codex daemons escape the group).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from pathlib import Path

import pexpect
import psutil

from runner.agents.types.base import LaunchSpec
from runner.agents.types.screen import Classification, ScreenDetector
from runner.errors import AgentFailure, FailureKind


class CliSession:
    """One CLI process in a 120x40 PTY; output goes to ``raw``, the detector and ``frames``."""

    def __init__(self, spec: LaunchSpec, detector: ScreenDetector | None = None, *,
                 columns: int = 120, lines: int = 40) -> None:
        self.spec = spec
        self.detector = detector
        self.frames: list[tuple[float, bytes]] = []  # (seconds since start, bytes): a recording
        self.t0 = time.monotonic()
        self.last_output = self.t0
        self.proc = pexpect.spawn(spec.argv[0], list(spec.argv[1:]), env=dict(spec.env), cwd=str(spec.cwd),
                                  dimensions=(lines, columns), encoding=None, echo=False,
                                  use_poll=True)  # select() refuses fds past 1,024
        self.proc.delaybeforesend = None
        self.proc.delayafterclose = 0
        self.proc.delayafterterminate = 0
        self.exit_status: int | None = None
        if spec.stdin is not None:  # per-task input, then end-of-file (a question then reads EOF)
            self.proc.send(spec.stdin.encode())
            self.proc.sendeof()

    @property
    def raw(self) -> bytes:
        return b"".join(b for _, b in self.frames)

    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def pump(self, wait: float = 0.1) -> bool:
        """Read what is there (up to ``wait`` s); False once the process has exited and drained."""
        try:
            data = self.proc.read_nonblocking(1 << 16, timeout=wait)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            self._reap()
            return False
        now = time.monotonic()
        self.last_output = now
        self.frames.append((now - self.t0, data))
        if self.detector is not None:
            self.detector.feed(data)
        return True

    def wait_for(self, states: tuple[str, ...], timeout: float) -> Classification:
        """Pump until the detector reports one of ``states``; AgentFailure(TIMEOUT/CRASH) else."""
        assert self.detector is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self.pump()
            state = self.detector.classify()
            if state.state in states:
                return state
            if not alive:
                raise AgentFailure(FailureKind.CRASH, f"exited ({self.exit_status}) in state {state.state}: "
                                   f"{state.text}", output=self.text())
        raise AgentFailure(FailureKind.TIMEOUT, f"not {'/'.join(states)} within {timeout:.0f}s "
                           f"(state {self.detector.classify().state})", output=self.text())

    def wait_exit(self, timeout: float, stall: float | None = None) -> int | None:
        """Pump until exit; AgentFailure(TIMEOUT) at the deadline, (HANG) after ``stall`` s silent."""
        deadline = time.monotonic() + timeout
        while self.pump(0.2):
            now = time.monotonic()
            if now > deadline:
                raise AgentFailure(FailureKind.TIMEOUT, f"no exit within {timeout:.0f}s", output=self.text())
            if stall is not None and now - self.last_output > stall:
                raise AgentFailure(FailureKind.HANG, f"no output for {stall:.0f}s", output=self.text())
        return self.exit_status

    def send(self, text: str) -> None:
        self.proc.send(text.encode())

    def _reap(self) -> None:
        if self.exit_status is None:
            self.proc.close(force=True)
            st = self.proc.exitstatus
            self.exit_status = st if st is not None else 128 + (self.proc.signalstatus or 0)

    def close(self, grace: float = 2.0) -> None:
        """SIGTERM the process group, SIGKILL after ``grace``, then sweep this agent's leftovers."""
        pid = self.proc.pid
        if self.proc.isalive():
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.proc.isalive() and time.monotonic() < deadline:
                self.pump(0.05)
        _signal_group(pid, signal.SIGKILL)
        self._reap()
        agent = self.spec.env.get("RUNNER_AGENT_ID")
        if agent:
            sweep(agent, self.spec.env.get("RUNNER_RUN_ID"))

    def save(self, path: Path, **header: object) -> None:
        """Write the recording: a JSON header line, then ``{"t": s, "b64": bytes}`` per chunk."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"columns": self.proc.getwinsize()[1] if self.proc.isalive() else 120,
                                 **header}) + "\n")
            for t, data in self.frames:
                fh.write(json.dumps({"t": round(t, 4), "b64": base64.b64encode(data).decode()}) + "\n")


def load_recording(path: Path) -> tuple[dict, list[tuple[float, bytes]]]:
    """``(header, frames)`` of a recording written by ``CliSession.save``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    frames = [(d["t"], base64.b64decode(d["b64"])) for d in map(json.loads, lines[1:])]
    return header, frames


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def sweep(agent_id: str, run_id: str | None) -> list[int]:
    """Kill every process of this agent *of this run* (``RUNNER_AGENT_ID`` and ``RUNNER_RUN_ID``
    in its environment); their pids. Another run's agent of the same id is left alone."""
    killed = []
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
            if (proc.pid != os.getpid() and env.get("RUNNER_AGENT_ID") == agent_id
                    and env.get("RUNNER_RUN_ID") == run_id):
                proc.kill()
                killed.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return killed
