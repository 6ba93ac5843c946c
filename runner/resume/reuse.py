"""Reusing a step that already succeeded: from the run being resumed, or (``cache: true``) from
any past run of the same fingerprint (the newest).

The executor asks ``Reuser.find(step, fingerprint)`` when a step's selection node runs (its
``when`` was true, before its approval gate and before any agent starts). A reused step's record
is the earlier one (output, aggregation, attempts: templates downstream see what they saw
then), its status ``succeeded`` and ``reused_from`` the run it ran in; the journal gets its
``step_finished`` with ``reusedFrom`` and the earlier attempts and agents (so this run's journal
alone can be resumed again). A reused step costs nothing in this run: its usage is not counted
again (budgets, totals).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from runner.errors import FailureKind, SpecError
from runner.execute.records import AttemptRecord, StepRecord
from runner.journal.jsonable import epoch
from runner.resume.fingerprint import sha
from runner.resume.source import Done, Earlier, fold, read_lenient
from runner.spec.templates import render, step_site

_FIRST = {"number": 1, "feedback": ""}


class Reuser:
    def __init__(self, earlier: Earlier | None, state_dir: Path, run_id: str) -> None:
        self.earlier = earlier
        self.state_dir = Path(state_dir)
        self.run_id = run_id
        self._past: dict[str, Earlier] = {}  # run id -> its folded journal (cache: true)
        # the earlier run's `land: apply` landings: state after -> state before (runner.resume.landing)
        self.landings: dict[str, str] = dict(earlier.landings) if earlier is not None else {}

    def wants(self, step: Any) -> bool:
        """Whether a fingerprint is worth computing before the step runs."""
        return bool(step.cache) or (self.earlier is not None and step.id in self.earlier.done)

    def find(self, step: Any, fingerprint: str) -> Done | None:
        if self.earlier is not None:
            done = self.earlier.done.get(step.id)
            if done is not None and done.fingerprint == fingerprint:
                return self._whole(done)
        return self._cached(step.id, fingerprint) if step.cache else None

    def _whole(self, done: Done) -> Done | None:
        """``done`` with its attempts: a step the earlier run reused has them in the journal of
        the run it ran in (None when that journal is gone: the step runs again)."""
        if done.record.get("attempts") is not None:
            return done
        origin = self._run(done.origin)
        found = origin.done.get(done.step) if origin is not None else None
        if found is None or found.fingerprint != done.fingerprint or found.record.get("attempts") is None:
            return None
        return Done(step=done.step, fingerprint=done.fingerprint, origin=done.origin,
                    record={**done.record, "agents": found.record.get("agents") or done.record.get("agents"),
                            "attempts": found.record["attempts"]})

    def _run(self, run_id: str) -> Earlier | None:
        """A past run's journal, folded once (passed over when unreadable)."""
        past = self._past.get(run_id)
        if past is None:
            d = self.state_dir / "runs" / run_id
            if not (d / "events.jsonl").is_file():
                return None
            past = self._past[run_id] = Earlier(run_id=run_id, dir=d, run={})
            fold(read_lenient(d / "events.jsonl"), past)
        return past

    def _cached(self, step_id: str, fingerprint: str) -> Done | None:
        """The newest past run with a success of ``step_id`` of this fingerprint (a fingerprint
        is a sha256: a plain search of each journal's bytes finds the candidates)."""
        needle = fingerprint.encode()
        try:
            dirs = sorted((p for p in (self.state_dir / "runs").iterdir() if p.is_dir() and p.name != self.run_id),
                          key=lambda p: p.name, reverse=True)
        except OSError:
            return None
        for d in dirs:
            past = self._past.get(d.name)
            if past is None:
                try:
                    data = (d / "events.jsonl").read_bytes()
                except OSError:
                    continue
                if needle not in data:
                    continue
                past = self._past[d.name] = Earlier(run_id=d.name, dir=d, run={})
                fold(read_lenient(d / "events.jsonl"), past)
            done = past.done.get(step_id)
            if done is not None and done.fingerprint == fingerprint and (done := self._whole(done)) is not None:
                return done
        return None


def first_task_shas(steps: Any, step: Any, items: list[Any] | None) -> list[str]:
    """sha256 of each item's first task, rendered as the step's first attempt renders it."""
    out = []
    for pos, item in enumerate(items if items is not None else [None]):
        index = pos if items is not None else None
        ctx = {**steps.context(item=item, index=index, previous=[]), "attempt": _FIRST}
        try:
            task = render(step.task, ctx, stop=steps.stopping)
        except SpecError:  # again, for an error that points at the task in its file (rarely needed: not built first)
            task = render(step.task, ctx, site=step_site(steps.plan.pattern, step.id), stop=steps.stopping)
        out.append(sha(task))
    return out


def restore(rec: StepRecord, done: Done, fingerprint: str) -> None:
    """``rec`` becomes the earlier success (its own times: reusing takes no time)."""
    r = done.record
    now = time.time()
    rec.status, rec.started, rec.finished = "succeeded", rec.started or now, now
    rec.output, rec.confidence = r.get("output"), r.get("confidence")
    rec.agents = [str(a) for a in r.get("agents") or []]
    rec.aggregation = r.get("aggregation")
    rec.attempts = [_attempt(a) for a in r.get("attempts") or [] if isinstance(a, dict)]
    rec.change, rec.landed = r.get("change"), r.get("landed")
    rec.landed_over = r.get("landedOver") if isinstance(r.get("landedOver"), dict) else None
    rec.error_kind = rec.error = None
    rec.fingerprint, rec.reused_from = fingerprint, done.origin


def _attempt(a: dict[str, Any]) -> AttemptRecord:
    kind = a.get("errorKind")
    started = epoch(a.get("startedAt"))
    finished = epoch(a.get("finishedAt"))
    if started is None:
        started = (finished or 0.0) - (a.get("durationMs") or 0) / 1000
    try:
        error_kind = FailureKind(kind) if kind else None
    except ValueError:
        error_kind = FailureKind.TASK
    return AttemptRecord(attempt=int(a.get("attempt") or 1), agent_id=str(a.get("agentId")), item=a.get("item"),
                         started=started, finished=finished, status=str(a.get("status") or "ok"),
                         result=a.get("result"), confidence=a.get("confidence"), reasoning=a.get("reasoning") or "",
                         error_kind=error_kind, error=a.get("error"),
                         usage=dict(a.get("usage") or {}), change=a.get("change"), recorded=a)
