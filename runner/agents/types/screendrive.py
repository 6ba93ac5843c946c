"""Driving a full-screen CLI session by its rendered screen (used by the local runtime).

``ScreenDriver`` owns a ``ScreenDetector`` fed with everything the session prints, and
waits for states on it: it answers known first-run dialogs with the table's keys (a seeded
run never sees one), answers approval prompts per the approval preset (approve for
permissive/autonomous, deny otherwise), and reads the final answer off the screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.agents.types.screen import Classification, ScreenDetector, extract_answer
from runner.errors import AgentFailure, FailureKind

if TYPE_CHECKING:
    from runner.agents.types.base import AgentType
    from runner.spec.models import AgentDef

# A first-run dialog still drawn exactly as it was this long after its keys were sent is
# answered again (an Ink app drops keys that arrive before its input handler is mounted).
# Approvals are never sent twice: under load a CLI may take seconds to redraw, and a second
# `1`/`y` would land in its prompt. One is answered again only after it left the screen.
_DIALOG_RETRY = 5.0


class ScreenDriver:
    """Waits on a session's screen. ``feed`` must get every chunk of output (raw text)."""

    def __init__(self, detector: ScreenDetector, approve: bool) -> None:
        self.detector = detector
        self.approve = approve
        self.approvals: list[tuple[str, bool]] = []  # (prompt text, approved?) seen so far
        self._cond = threading.Condition()
        self._answered: dict[str, tuple[float, str]] = {}  # dialog → (sent at, screen then)
        self._approval_shown: str | None = None  # the approval answered and still on screen
        self._asked = 0  # approvals seen before the current wait

    def feed(self, text: str) -> None:
        with self._cond:
            self.detector.feed(text)
            self._cond.notify_all()

    def wait(self, send: Callable[[str], None], alive: Callable[[], bool], states: tuple[str, ...],
             timeout: float, inactivity: float | None = None, turns_after: int | None = None,
             output: Callable[[], str] = lambda: "",
             immediate: tuple[str, ...] = ("login_required", "error"),
             done_before: list[str] | None = None, marker: str | None = None) -> Classification:
        """Until the screen shows one of ``states`` (with ``turns_after``: once more turns than
        that have completed, or a new done line since ``done_before``; with ``marker``, the start
        of the typed task, the turn's done line must sit below its echo) or one of ``immediate``.
        Dialogs and approvals are answered on the way. Raises AgentFailure TIMEOUT/HANG/CRASH."""
        started = time.monotonic()
        deadline = started + timeout
        last_change, last_text = started, ""
        resubmit = self.detector.table.resubmit_after if turns_after is not None else 0.0
        moved = False  # the task got going (busy/approval/a turn) since it was typed
        self._asked = len(self.approvals)
        # A fast turn may never show busy between two reads: a new `done` line also counts.
        done_before = self.detector.done_lines() if done_before is None else done_before
        with self._cond:
            while True:
                c = self.detector.classify()
                now = time.monotonic()
                if c.state in immediate or (c.state in states and (
                        turns_after is None or self._turn_done(c, turns_after, done_before, marker))):
                    return c
                if c.state != "approval" or c.rule + c.text != self._approval_shown:
                    self._approval_shown = None
                if c.state in ("dialog", "approval") and c.state not in states:
                    self._answer(c, send, now)
                moved = moved or c.state in ("busy", "approval") or self.detector.turns > (turns_after or 0)
                if resubmit and not moved and now - started >= resubmit:
                    send("\r")  # the Enter was taken as part of the paste: the task still sits typed
                    started = now
                if not alive():
                    raise AgentFailure(FailureKind.CRASH, f"the program exited (screen: {c.state} {c.text})",
                                       output=output())
                text = self.detector.text()
                if text != last_text:
                    last_change, last_text = now, text
                if now >= deadline:
                    raise AgentFailure(FailureKind.TIMEOUT, f"not {'/'.join(states)} within {timeout:g}s "
                                       f"(screen: {c.state} {c.text})", output=output())
                if inactivity is not None and now - last_change >= inactivity:
                    raise AgentFailure(FailureKind.HANG, f"screen unchanged for {inactivity:g}s", output=output())
                self._cond.wait(0.1)

    def _answer(self, c: Classification, send: Callable[[str], None], now: float) -> None:
        rule = self.detector.table.rule(c.rule)
        keys = (rule.yes if self.approve else rule.no) if c.state == "approval" else rule.keys
        key, screen = c.rule + c.text, self.detector.text()
        if not keys:
            return
        if c.state == "approval":
            if self._approval_shown == key:
                return
            self._approval_shown = key
            self.approvals.append((c.text, self.approve))
        else:
            sent_at, then = self._answered.get(key, (None, ""))
            if sent_at is not None and (now - sent_at < _DIALOG_RETRY or screen != then):
                return
            self._answered[key] = (now, screen)
        send(keys)

    def type_task(self, send: Callable[[str], None], typed: str) -> None:
        """Type a task; with the table's ``submit_delay``, Enter goes separately after it
        (gemini treats an Enter arriving with pasted text as part of the paste)."""
        delay = self.detector.table.submit_delay
        if delay and typed.endswith("\r"):
            send(typed[:-1])
            time.sleep(delay)  # deliberate: the CLI's paste heuristic is time-based
            send("\r")
        else:
            send(typed)

    def _turn_done(self, c: Classification, turns_after: int, done_before: list[str],
                   marker: str | None) -> bool:
        """Whether the task typed after ``turns_after`` turns has finished on screen."""
        table = self.detector.table
        below = _below(self.detector.text(), marker)
        done_rules = [r.screen for r in table.rules if r.state == "done" and r.screen is not None]
        if below is not None:  # the task's echo is on screen: judge only what follows it
            denied = any(not ok for _, ok in self.approvals[self._asked:])  # ends a turn unanswered
            if denied and self.detector.turns > turns_after:
                return True
            if done_rules:
                rest = "\n".join(below)
                return c.state == "done" and any(rx.search(rest) for rx in done_rules)
            if table.answer_start is not None and not any(table.answer_start.search(x) for x in below):
                return False
            return self.detector.turns > turns_after
        # The echo is off screen (a long answer scrolled it away, or a redraw is half done): a
        # table that marks finished turns must show one; a counted turn alone may be a flash.
        if done_rules and c.state != "done":
            return False
        return self.detector.turns > turns_after or (
            c.state == "done" and _new_done(done_before, self.detector.done_lines()))

    def answer(self, marker: str | None = None) -> str | None:
        """The final answer shown on the screen (below the task's echo when ``marker`` is on
        screen), if the table knows where answers sit."""
        text = self.detector.text()
        below = _below(text, marker)
        return extract_answer("\n".join(below) if below is not None else text, self.detector.table)

    @property
    def turns(self) -> int:
        return self.detector.turns


def task_marker(typed: str) -> str:
    """What identifies a typed task's echo on screen: the start of its first non-blank line."""
    text = typed.replace("\x1b[200~", "").replace("\x1b[201~", "")
    first = next((line for line in text.splitlines() if line.strip()), "")
    return " ".join(first.split())[:40]


def _below(text: str, marker: str | None) -> list[str] | None:
    """The screen lines after the last one showing ``marker`` (None: not on screen)."""
    if not marker:
        return None
    lines = text.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if marker in " ".join(lines[i].split()):
            return lines[i + 1:]
    return None


def _new_done(before: list[str], after: list[str]) -> bool:
    """A done line was added at the bottom (scrolling only ever removes lines at the top)."""
    return len(after) > len(before) or bool(after and (not before or after[-1] != before[-1]))


def make_driver(agent_type: AgentType, definition: AgentDef) -> ScreenDriver | None:
    """A driver for types whose ``screen_detector`` gives one (the real CLIs), else None."""
    detector = agent_type.screen_detector(definition)
    if detector is None:
        return None
    return ScreenDriver(detector, agent_type.approve_prompts(definition))
