"""What the run remembers of each step and attempt; becomes ``result.json``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.agents.usage import total as usage_total
from runner.errors import FailureKind
from runner.journal.layout import STEP_FINAL


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(kind: FailureKind | None) -> str | None:
    """A kind as result.json holds it: its value (plain data, the schema's enum)."""
    return None if kind is None else kind.value


def ms(start: float | None, end: float | None) -> int:
    if start is None or end is None:
        return 0
    return int(round((end - start) * 1000))


def agent_usage(steps: list[StepRecord], agent_id: str) -> dict[str, Any]:
    """What one agent's attempts cost over the run."""
    return usage_total(a.usage for s in steps if s.reused_from is None for a in list(s.attempts)
                       if a.agent_id == agent_id)


@dataclass(kw_only=True)
class AttemptRecord:
    attempt: int
    agent_id: str
    item: int | None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    status: str = "running"  # ok | failed | cancelled | rejected
    result: Any = None
    confidence: float | None = None
    reasoning: str = ""
    error_kind: FailureKind | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    change: dict[str, Any] | None = None  # the captured change (steps with a workspace)
    diff: str = ""  # the change's patch text, for templates only (not in result.json)
    feedback: str = ""  # why it failed, for the retry's `attempt.feedback` (the verify output tail)
    recorded: dict[str, Any] | None = None  # a reused attempt: its record as the run it ran in wrote it

    def to_dict(self) -> dict[str, Any]:
        if self.recorded is not None:  # exactly as it was (times at ms are not re-derived)
            return dict(self.recorded)
        out = {
            "attempt": self.attempt, "agentId": self.agent_id, "item": self.item,
            "startedAt": iso(self.started), "finishedAt": iso(self.finished),
            "durationMs": ms(self.started, self.finished), "status": self.status,
            "result": self.result, "confidence": self.confidence, "reasoning": self.reasoning,
            "errorKind": _value(self.error_kind), "error": self.error, "usage": dict(self.usage),
        }
        if self.change is not None:
            out["change"] = self.change
        return out


@dataclass(kw_only=True)
class StepRecord:
    id: str
    status: str = "pending"  # pending | running | waiting | succeeded | failed | skipped | cancelled
    started: float | None = None
    finished: float | None = None
    output: Any = None
    confidence: float | None = None
    agents: list[str] = field(default_factory=list)
    aggregation: dict[str, Any] | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    error_kind: FailureKind | None = None
    error: str | None = None
    answers: list[Any] = field(default_factory=list)  # per item: list of aggregate.Answer
    change: dict[str, Any] | None = None  # the chosen change (steps with a workspace)
    landed: dict[str, Any] | None = None  # where it landed (``land``)
    landed_over: dict[str, str] | None = None  # land: apply: the source's states before/after (resume)
    fingerprint: str | None = None  # what its answer depends on, hashed (runner.resume.fingerprint)
    reused_from: str | None = None  # the run whose success it reused (``--resume``, ``cache: true``)
    waiting: str | None = None  # the approval gate's message while the run is detached there
    deadline: float | None = None  # ... and when its timeout ends (a decision after it is refused)
    uses: str | None = None  # a call: the called pattern's source
    outputs: dict[str, Any] | None = None  # a call: the called pattern's outputs, once it returned
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # A finished step's `results`/`changes` for templates, built once: a forEach whose task reads
    # a fan-out step read them once per item, each time a walk of all its attempts (quadratic).
    _view_parts: tuple[tuple[Any, ...], list[dict[str, Any]], list[dict[str, Any]], str] | None = field(
        default=None, repr=False, compare=False)

    def add_attempt(self, record: AttemptRecord) -> None:
        with self.lock:
            self.attempts.append(record)

    def template_view(self) -> dict[str, Any]:
        """What later steps' templates see as ``steps.<id>`` (its lists new on every read; once
        the step has finished, the entries in them are built once and shared)."""
        results, changes, change_diff = self._template_parts()
        return {
            "output": self.output, "confidence": self.confidence, "status": self.status, "error": self.error,
            "results": list(results), "changes": list(changes),
            "change": None if self.change is None else {**self.change, "diff": change_diff},
            "landed": self.landed, "outputs": self.outputs or {},
        }

    def _template_parts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        key = (self.status, len(self.attempts), id(self.change))
        parts = self._view_parts
        if parts is not None and parts[0] == key:
            return parts[1], parts[2], parts[3]
        results = [
            {"agent": a.agent_id, "result": a.result, "confidence": a.confidence, "reasoning": a.reasoning,
             "item": a.item}
            for a in self.attempts if a.status == "ok"
        ]
        diffs = {id(a.change): a.diff for a in self.attempts if a.change is not None}
        changes = [{**c, "diff": diffs.get(id(c), "")} for c in self.changes()]
        change_diff = "" if self.change is None else diffs.get(id(self.change), "")
        if self.status in STEP_FINAL:  # a running step's attempts still change
            self._view_parts = (key, results, changes, change_diff)
        return results, changes, change_diff

    def changes(self) -> list[dict[str, Any]]:
        """The last captured change of each agent (and item), in the order agents first answered."""
        last: dict[tuple[str, int | None], dict[str, Any]] = {}
        for a in self.attempts:
            if a.change is not None:
                last[(a.agent_id, a.item)] = a.change
        return list(last.values())

    def usage(self) -> dict[str, Any]:
        """The sum of its attempts' usage (failed and cancelled ones cost too); nothing when it
        was reused (that cost was spent by an earlier run)."""
        if self.reused_from is not None:
            return {}
        with self.lock:
            return usage_total(a.usage for a in self.attempts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "startedAt": iso(self.started),
            "finishedAt": iso(self.finished), "durationMs": ms(self.started, self.finished),
            "output": self.output, "confidence": self.confidence, "agents": list(self.agents),
            "aggregation": self.aggregation, "usage": self.usage(),
            "attempts": [a.to_dict() for a in self.attempts],
            "error": {"kind": _value(self.error_kind) or FailureKind.TASK.value, "message": self.error}
            if self.error else None,
            **({"changes": self.changes(), "change": self.change, "landed": self.landed}
               if any(a.change is not None for a in self.attempts) or self.landed is not None else {}),
            **({"fingerprint": self.fingerprint} if self.fingerprint else {}),
            **({"reusedFrom": self.reused_from} if self.reused_from else {}),
            **({"waiting": {"message": self.waiting, **({"deadline": iso(self.deadline)} if self.deadline else {})}}
               if self.waiting is not None and self.status == "waiting" else {}),
            **({"uses": self.uses, "outputs": self.outputs} if self.uses is not None else {}),
        }
