"""A step's outcome from its answers: each item aggregated, the quorum of a vote checked, the
confidence floor applied."""

from __future__ import annotations

from typing import Any

from runner.errors import FailureKind, StepFailed
from runner.execute.aggregate import Answer, aggregate
from runner.execute.records import StepRecord
from runner.spec.models import Step


def aggregate_items(step: Step, rec: StepRecord, early: set[int], escalated: dict[int, int] | None = None) -> str | None:
    """Aggregate every item; returns why validation failed, or None. ``escalated``: per item,
    the agents an escalating vote asked beyond ``agents.min``."""
    outputs, confidences, details = [], [], []
    for index, answers in enumerate(rec.answers):
        if not answers:
            raise _no_answer(step, rec, index if step.for_each else None)
        _check_quorum(step, rec, answers, index if step.for_each else None)
        agg = aggregate(step.aggregation, answers)
        details.append(agg)
        if not agg.ok:
            rec.aggregation = _agg_dict(step, agg, answers)
            if escalated and index in escalated:
                rec.aggregation["escalated"] = escalated[index]
            return f"aggregation ({step.aggregation.type}) could not decide: {agg.reason}"
        outputs.append(agg.output)
        confidences.append(agg.confidence)
    rec.output = outputs if step.for_each else outputs[0]
    known = [c for c in confidences if c is not None]
    rec.confidence = (min(known) if known else None)
    rec.aggregation = _agg_dict(step, details[0], rec.answers[0]) if len(details) == 1 else {
        "type": step.aggregation.type, "method": step.aggregation.method,
        "items": [_agg_dict(step, d, a) for d, a in zip(details, rec.answers, strict=False)],
        "ok": True, "reason": "per item",
    }
    for pos in early:
        (rec.aggregation if not step.for_each else rec.aggregation["items"][pos])["decidedEarly"] = True
    for pos, n in (escalated or {}).items():
        (rec.aggregation if not step.for_each else rec.aggregation["items"][pos])["escalated"] = n
    floor = step.validation.min_confidence
    if floor is not None and (rec.confidence is None or rec.confidence < floor):
        return f"confidence {rec.confidence} is below minConfidence {floor:g}"
    return None


def _no_answer(step: Step, rec: StepRecord, item: int | None) -> StepFailed:
    failed = [a for a in rec.attempts if a.item == item and a.status in ("failed", "rejected", "cancelled")]
    if not failed:
        return StepFailed(FailureKind.TASK, f"step `{step.id}` got no answer")
    last = failed[-1]
    where = f" for item {item}" if item is not None else ""
    return StepFailed(last.error_kind or FailureKind.TASK,
                       f"step `{step.id}` got no answer{where} after {len(failed)} failed attempt(s); "
                       f"last: {last.error}")


def _check_quorum(step: Step, rec: StepRecord, answers: list[Answer], item: int | None) -> None:
    """A vote or consensus counts distinct agents: it needs ``agents.min`` of them, else it
    fails (the answers of fewer agents than the step asked for decide nothing)."""
    if step.aggregation.type not in ("voting", "consensus") or step.strategy == "race":
        return
    agents = sorted({a.agent_id for a in answers})
    if len(agents) >= step.agents.min:
        return
    failed = [a for a in rec.attempts if a.item == item and a.status in ("failed", "rejected", "cancelled")]
    where = f" for item {item}" if item is not None else ""
    last = f"; last failure: {failed[-1].error}" if failed else ""
    kind = (failed[-1].error_kind if failed else None) or FailureKind.TASK
    raise StepFailed(kind, f"step `{step.id}` needs answers from {step.agents.min} distinct agents for "
                           f"{step.aggregation.type}{where}, got {len(agents)} ({', '.join(agents)}){last}")


def _agg_dict(step: Step, agg: Any, answers: list[Answer]) -> dict[str, Any]:
    # weights: each answering agent's say (its expertise), so a report can show why the winner won
    return {"type": step.aggregation.type, "method": step.aggregation.method, "votes": dict(agg.votes),
            "weights": {a.agent_id: a.weight for a in answers},
            "agreement": agg.agreement, "ok": agg.ok, "reason": agg.reason}
