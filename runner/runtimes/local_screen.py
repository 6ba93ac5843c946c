"""A long-lived full-screen CLI (claude, codex, gemini, aider) on the local runtime: started
until its screen says ready, and each task typed and read off the rendered screen by the
type's ``ScreenDriver`` (approval prompts answered per the approval preset). Functions of the
``LocalHandle`` that drives the session (``runner.runtimes.local_handle``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.agents.model import TaskRequest, TaskResult
from runner.agents.pty import PtySession
from runner.agents.types.base import LaunchSpec
from runner.agents.types.screendrive import ScreenDriver, task_marker
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.runtimes.local_outcomes import error_kind

if TYPE_CHECKING:
    from runner.runtimes.local_handle import LocalHandle


def run_on_screen(self: LocalHandle, session: PtySession, screen: ScreenDriver, request: TaskRequest,
                  ) -> TaskResult:
    """One task in a full-screen CLI: type it, wait for a completed turn, read the answer
    off the rendered screen (approval prompts answered per the approval preset)."""
    mark, turns, asked = session.mark(), screen.turns, len(screen.approvals)
    done_before = screen.detector.done_lines()
    typed = self.agent_type.format_task(self.definition, request)
    marker = task_marker(typed)
    screen.type_task(session.send, typed)
    timeout = request.timeout or 600.0
    try:
        c = screen.wait(session.send, lambda: session.alive, ("done", "ready"), timeout,
                        inactivity=request.inactivity, turns_after=turns, done_before=done_before, marker=marker,
                        output=lambda: session.output_since(mark))
    except AgentFailure:
        self._close(session, 0.0)
        raise
    if c.state == "login_required":
        self.lifecycle.emit("login_required", detail=c.text)
        self._close(session, 0.0)
        raise AgentFailure(FailureKind.LOGIN, f"login required: {c.text}", output=c.text)
    if c.state == "error":
        raise AgentFailure(error_kind(c.text), c.text, output=session.output_since(mark))
    denied = [text for text, ok in screen.approvals[asked:] if not ok]
    answer = screen.answer(marker)
    if answer is None:  # plain-line CLIs (aider): the transcript is the answer
        answer = session.output_since(mark)
    if denied and "CONFIDENCE" not in answer.upper():
        raise AgentFailure(FailureKind.TASK, f"denied per approval preset: {denied[0]}", output=answer)
    if not answer.strip():  # the screen (not an empty string) tells what went wrong
        raise AgentFailure(FailureKind.PARSE, "no answer on the screen", output=screen.detector.text())
    return self.agent_type.parse_result(self.definition, request, answer, None)

def start_on_screen(self: LocalHandle, spec: LaunchSpec, screen: ScreenDriver) -> None:
    """Start a full-screen CLI and wait until its screen says ready (or login / error)."""
    self.screen = screen

    def output(text: str) -> None:
        screen.feed(text)
        self._session_output(text)

    session = self._open(spec, output, stdin_pipe=False)
    try:
        c = screen.wait(session.send, lambda: session.alive, ("ready",), self.start_timeout,
                        output=lambda: session.output_since(0))
    except AgentFailure as exc:
        self._close(session, 0.0)
        kind = FailureKind.CANCELLED if self._stopping else FailureKind.INFRASTRUCTURE
        raise AgentFailure(kind, f"did not show its prompt: {exc}", agent_id=self.id,
                           output=exc.output) from exc
    if c.state == "login_required":
        self._close(session, 0.0)
        raise LoginRequired(self.id, c.text)  # announced by start()
    if c.state == "error":
        self._close(session, 0.0)
        raise AgentFailure(error_kind(c.text), c.text, agent_id=self.id, output=session.output_since(0))
    self._session = session
