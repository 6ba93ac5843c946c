"""How what a PTY session did becomes runner's outcomes, for the local runtime's handle.

PTY exceptions become ``AgentFailure`` kinds; on-screen errors are told apart (a refused key is
configuration); login instructions are read with the URL shown near them; a typed task's echo
is dropped from the answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from runner.agents.ansi import AnsiStripper
from runner.agents.handle import OutputCallback
from runner.agents.model import TaskRequest
from runner.agents.pty import Hit, PtyCancelled, PtyError, PtyInactive, PtySession, PtyTimeout
from runner.errors import AgentFailure, FailureKind

_URL = re.compile(r"https?://[^\s'\"<>)\]]+")


def error_kind(text: str) -> FailureKind:
    """A CLI's on-screen error: a refused key is configuration, the rest infrastructure."""
    from runner.agents.types.jsonout import (  # lazy: cold start (only an agent type that prints JSON)
        AUTH_HINTS,
    )

    return FailureKind.CONFIG if AUTH_HINTS.search(text) else FailureKind.INFRASTRUCTURE


def failure(exc: Exception, request: TaskRequest) -> AgentFailure:
    output = getattr(exc, "output", "")
    if isinstance(exc, PtyTimeout):
        return AgentFailure(FailureKind.TIMEOUT, f"task {request.task_id} exceeded {request.timeout:g}s",
                            output=output)
    if isinstance(exc, PtyInactive):
        return AgentFailure(FailureKind.HANG, f"task {request.task_id}: {exc}", output=output)
    if isinstance(exc, PtyCancelled):
        return AgentFailure(FailureKind.CANCELLED, f"task {request.task_id} was cancelled", output=output)
    return AgentFailure(FailureKind.CRASH, f"the program died during task {request.task_id}: {exc}",
                        output=output)


def clean_output(callback: OutputCallback | None) -> Callable[[str], None] | None:
    """``callback`` fed ANSI-stripped text (escape sequences may span chunks)."""
    if callback is None:
        return None
    stripper = AnsiStripper()

    def feed(chunk: str) -> None:
        text = stripper.feed(chunk)
        if text:
            callback(text)

    return feed


def drop_echo(answer: str, typed: str) -> str:
    """The terminal echoes what was typed: drop that first line from the answer."""
    first, sep, rest = answer.lstrip("\n").partition("\n")
    line, task = first.strip(), typed.strip()
    if line and (line in task or task in line):
        return rest
    return answer


def time_left(timeout: float | None, since: float) -> float | None:
    """What is left of ``timeout`` seconds counted from ``since`` (monotonic)."""
    return None if timeout is None else max(timeout - (time.monotonic() - since), 0.0)


def login_instruction(session: PtySession, hit: Hit) -> str:
    """The login line, plus a URL shown with it (waiting briefly for one printed after it)."""
    begin = max(hit.start - 2000, 0)
    text = session.output_since(begin)  # the transcript keeps far more than these 2000 characters
    at = hit.start - begin
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line = text[line_start: line_end if line_end >= 0 else len(text)].strip()
    if _URL.search(line):
        return line
    found = _URL.search(text, line_start)
    url = found.group(0) if found else None
    if url is None:
        try:
            url = session.wait_for({"url": _URL}, timeout=0.5, since=begin + line_start).text
        except PtyError:  # no URL came: the line alone is the instruction
            url = None
    return f"{line} {url}" if url else line
