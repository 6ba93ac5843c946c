"""The approval gates a run waits at, with their deadlines, as its journal tells them
(``runner runs``, ``runner approve``; the waiting itself is ``runner.execute.approval``).

A run that exited at a gate (``--detach-on-approval``, status ``waiting``) has them in
``result.json`` (``steps[].waiting``); a run still going, or killed while it waited, in its
events: a ``step_waiting`` not followed by a decision (``step_approved``, ``step_denied``) or
by the step's end. A deadline is absolute: once it passed, the gate is ``expired`` (a
decision is refused and a resume denies the step).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runner.journal.jsonable import epoch
from runner.journal.reader import RunRecord

_DECIDED = frozenset({"step_approved", "step_denied", "step_finished", "step_skipped", "step_started"})


@dataclass(frozen=True, kw_only=True)
class Gate:
    step: str
    message: str
    deadline: str | None  # ISO-8601 UTC; None in a journal written before deadlines were

    def expired(self, now: float | None = None) -> bool:
        end = epoch(self.deadline)
        return end is not None and (time.time() if now is None else now) >= end

    def when(self, now: float | None = None) -> str:
        """``until TIME``, ``expired at TIME`` (or nothing without a deadline), as people read it."""
        if self.deadline is None:
            return ""
        return f"expired at {self.deadline}" if self.expired(now) else f"until {self.deadline}"


def waiting_gates(record: RunRecord) -> list[Gate]:
    """The gates ``record``'s run waits at, in the order its steps reached them."""
    if record.result is not None:
        return [_gate(s.get("id"), s.get("waiting")) for s in record.result.get("steps") or []
                if isinstance(s, dict) and s.get("status") == "waiting" and isinstance(s.get("waiting"), dict)]
    open_: dict[str, Gate] = {}
    for e in record.events():
        step = e.get("step")
        if not isinstance(step, str):
            continue
        if e.get("event") == "step_waiting":
            open_[step] = _gate(step, e)
        elif e.get("event") in _DECIDED:
            open_.pop(step, None)
    return list(open_.values())


def decision(record: RunRecord, step_id: str) -> dict[str, Any] | None:
    """The last ``step_approved`` / ``step_denied`` event of ``step_id`` in the run's journal
    (``by: timeout``: no decision came before the deadline), None when it was not decided."""
    found = None
    for e in record.events():
        if e.get("step") == step_id and e.get("event") in ("step_approved", "step_denied"):
            found = e
    return found


def _gate(step: Any, fields: Any) -> Gate:
    deadline = fields.get("deadline")
    return Gate(step=str(step), message=str(fields.get("message") or ""),
                deadline=deadline if isinstance(deadline, str) and epoch(deadline) is not None else None)
