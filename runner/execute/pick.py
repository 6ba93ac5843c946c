"""A change picked by agent id: ``land: {from: STEP, change: TEMPLATE}`` (docs/workspaces.md).

A later step (a judge agent reading ``steps.STEP.changes``) answers with an agent id; its
``land`` lands that agent's change of step ``from``. ``change`` renders to the agent id after
the step answered (it may read the step's own output); without it the step's output itself,
trimmed, is the id. The picked change must exist (the agent's last change in ``from``), be
the only one of that agent (not a ``forEach``'s several) and not have failed its verify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runner.errors import FailureKind, StepFailed
from runner.execute.records import StepRecord
from runner.spec.models import Step


def picks(step: Step) -> bool:
    """Whether ``step``'s ``land`` names its change by agent id (``from`` another step, or ``change``)."""
    land = step.land
    return land is not None and ((land.source is not None and land.source != step.id) or land.change is not None)


def picked_change(step: Step, rec: StepRecord, records: Mapping[str, StepRecord],
                  render: Callable[[str, str], str]) -> dict[str, Any]:
    """The change ``step``'s ``land`` names; ``StepFailed(LAND)`` when there is none to land."""
    land = step.land
    assert land is not None
    source = land.source or step.id
    said = render(land.change, "land.change") if land.change is not None else \
        "" if rec.output is None else str(rec.output)
    agent = said.strip()
    where = f"step `{step.id}`: land"
    if not agent:
        raise StepFailed(FailureKind.LAND, f"{where} names no agent (the {'land.change' if land.change else 'answer'} "
                         "is empty)")
    changes = records[source].changes() if source in records else []
    mine = [c for c in changes if c.get("agent") == agent]
    if not mine:
        by = ", ".join(sorted({str(c.get("agent")) for c in changes})) or "none"
        raise StepFailed(FailureKind.LAND, f"{where} names agent `{_short(agent)}`, which has no change in step "
                         f"`{source}` (agents with a change: {by})")
    if len(mine) > 1:
        raise StepFailed(FailureKind.LAND, f"{where} names agent `{agent}`, which has {len(mine)} changes in step "
                         f"`{source}` (one per forEach item): land picks one change")
    verify = mine[0].get("verify")
    if verify is not None and not verify.get("ok"):
        raise StepFailed(FailureKind.LAND, f"{where} names agent `{agent}`, whose change in step `{source}` "
                         "failed its verify: not landed")
    return mine[0]


def _short(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line[:80] + ("…" if len(line) > 80 or "\n" in text else "")
