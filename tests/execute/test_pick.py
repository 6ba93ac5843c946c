"""`land: {from, change}`: which change a judge's answer names, and why none can be landed."""

from __future__ import annotations

import pytest

from runner.errors import StepFailed
from runner.execute.pick import picked_change, picks
from runner.execute.records import AttemptRecord, StepRecord
from runner.spec import parse_pattern

PATTERN = """
name: judged
steps:
  - id: implement
    task: do it
    workspace: worktree
  - id: judge
    task: pick
    land: {to: patch, from: implement}
"""


def _records(*changes: tuple[str, int | None, bool | None]) -> dict[str, StepRecord]:
    impl = StepRecord(id="implement")
    for n, (agent, item, ok) in enumerate(changes, 1):
        a = AttemptRecord(attempt=n, agent_id=agent, item=item)
        a.change = {"agent": agent, "item": item, "verify": None if ok is None else {"ok": ok}}
        impl.add_attempt(a)
    return {"implement": impl, "judge": StepRecord(id="judge")}


def _pick(records: dict[str, StepRecord], answer: object) -> dict:
    step = parse_pattern(PATTERN, "p.yaml").steps[1]
    records["judge"].output = answer
    return picked_change(step, records["judge"], records, lambda src, key: src)


def test_the_answer_trimmed_names_the_agents_last_change() -> None:
    step = parse_pattern(PATTERN, "p.yaml").steps
    assert picks(step[1]) and not picks(step[0])
    records = _records(("a", None, False), ("b", None, True), ("a", None, True))
    assert _pick(records, "\n  a \n") is records["implement"].attempts[2].change


@pytest.mark.parametrize(("changes", "answer", "message"), [
    ([("a", None, True)], "  ", "names no agent (the answer is empty)"),
    ([("a", None, True)], None, "names no agent"),
    ([("a", None, True), ("b", None, True)], "c", "names agent `c`, which has no change in step `implement` "
                                                  "(agents with a change: a, b)"),
    ([("a", None, True), ("b", None, False)], "b", "names agent `b`, whose change in step `implement` failed its "
                                                   "verify: not landed"),
    ([("a", 0, True), ("a", 1, True)], "a", "names agent `a`, which has 2 changes in step `implement` (one per "
                                           "forEach item)"),
    ([], "a", "which has no change in step `implement` (agents with a change: none)"),
])
def test_no_change_to_land_is_a_land_failure(changes, answer, message) -> None:
    with pytest.raises(StepFailed) as err:
        _pick(_records(*changes), answer)
    assert err.value.kind.value == "land" and message in str(err.value)
