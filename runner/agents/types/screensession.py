"""A full-screen CLI started on its own, outside a run: ``runner agents doctor`` and the
screen recordings (``tests/helpers/record_screens.py``).

It runs on the one PTY driver (``runner.agents.pty.PtySession``) and waits on the screen with
the run's own ``ScreenDriver``, so a probe sees exactly what a run sees. What the CLI printed
is kept, timed, as a recording (``save`` / ``load_recording``). ``close`` stops the whole
process group and sweeps any process still carrying this agent's ``RUNNER_AGENT_ID`` (codex
daemons escape the group).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from runner.agents.pty import PtySession, PtySpawnError
from runner.agents.pty.sweep import sweep
from runner.agents.types.base import LaunchSpec
from runner.agents.types.screen import Classification, ScreenDetector
from runner.agents.types.screendrive import ScreenDriver
from runner.errors import AgentFailure, FailureKind


class CliSession:
    """One CLI process in a 120x40 PTY; output goes to ``frames`` and the detector's screen.

    Dialogs and approval prompts that a wait does not ask for are answered as in a run (an
    approval per ``approve``)."""

    def __init__(self, spec: LaunchSpec, detector: ScreenDetector | None = None, *,
                 columns: int = 120, lines: int = 40, approve: bool = False) -> None:
        self.spec = spec
        self.detector = detector
        self.screen = ScreenDriver(detector, approve) if detector is not None else None
        self.columns = columns
        self.frames: list[tuple[float, bytes]] = []  # (seconds since start, bytes): a recording
        self.t0 = time.monotonic()
        self.session = PtySession(spec.argv, cwd=spec.cwd, env=dict(spec.env), on_output=self._output,
                                  stdin_pipe=spec.stdin is not None, dimensions=(lines, columns))
        try:
            self.session.start()
        except PtySpawnError as exc:
            raise AgentFailure(FailureKind.INFRASTRUCTURE, str(exc)) from exc
        if spec.stdin is not None:  # per-task input, then end-of-file (a question then reads EOF)
            self.session.send(spec.stdin)
            self.session.send_eof()

    def _output(self, text: str) -> None:
        self.frames.append((time.monotonic() - self.t0, text.encode()))
        if self.screen is not None:
            self.screen.feed(text)

    @property
    def raw(self) -> bytes:
        return b"".join(b for _, b in self.frames)

    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def wait_for(self, states: tuple[str, ...], timeout: float) -> Classification:
        """Until the screen shows one of ``states`` (or login / error); AgentFailure
        TIMEOUT/CRASH else."""
        assert self.screen is not None
        return self.screen.wait(self.send, lambda: self.session.alive, states, timeout, output=self.text)

    def send(self, text: str) -> None:
        self.session.send(text)

    def close(self, grace: float = 2.0) -> None:
        """SIGTERM the process group, SIGKILL after ``grace``, then sweep this agent's leftovers."""
        self.session.close(grace)
        agent = self.spec.env.get("RUNNER_AGENT_ID")
        if agent:
            sweep({"RUNNER_AGENT_ID": agent, "RUNNER_RUN_ID": self.spec.env.get("RUNNER_RUN_ID")})

    def save(self, path: Path, **header: object) -> None:
        """Write the recording: a JSON header line, then ``{"t": s, "b64": bytes}`` per chunk."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"columns": self.columns, **header}) + "\n")
            for t, data in self.frames:
                fh.write(json.dumps({"t": round(t, 4), "b64": base64.b64encode(data).decode()}) + "\n")


def load_recording(path: Path) -> tuple[dict, list[tuple[float, bytes]]]:
    """``(header, frames)`` of a recording written by ``CliSession.save``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    frames = [(d["t"], base64.b64decode(d["b64"])) for d in map(json.loads, lines[1:])]
    return header, frames
