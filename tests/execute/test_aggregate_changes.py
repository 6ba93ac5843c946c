"""best-change and voting over identical changes (answers of steps with a workspace)."""

from __future__ import annotations

from runner.execute.aggregate import Answer, aggregate
from runner.spec.models import Aggregation


def _a(agent: str, lines: int, *, ok: bool | None = True, conf: float | None = 0.8, digest: str = "") -> Answer:
    change = {"agent": agent, "lines": lines, "digest": digest or f"d-{agent}",
              "verify": None if ok is None else {"ok": ok}}
    return Answer(agent_id=agent, result=f"{agent} says done", confidence=conf, change=change)


def test_best_change_prefers_verified_then_confidence_then_fewest_lines_then_agent_id() -> None:
    best = Aggregation(type="best-change")
    assert aggregate(best, [_a("a", 1, ok=False), _a("b", 50)]).output["agent"] == "b"
    assert aggregate(best, [_a("a", 1, ok=None), _a("b", 50, ok=True)]).output["agent"] == "b"
    assert aggregate(best, [_a("a", 1, conf=0.5), _a("b", 50, conf=0.9)]).output["agent"] == "b"
    assert aggregate(best, [_a("a", 9), _a("b", 3)]).output["agent"] == "b"
    tie = [_a("zed", 3), _a("amy", 3)]
    assert aggregate(best, tie).output["agent"] == aggregate(best, tie[::-1]).output["agent"] == "amy"


def test_best_change_without_changes_is_undecided() -> None:
    agg = aggregate(Aggregation(type="best-change"), [Answer(agent_id="a", result="x")])
    assert not agg.ok and "no answer carries a change" in agg.reason


def test_voting_compares_changes_not_the_agents_words() -> None:
    answers = [_a("a", 2, digest="same"), _a("b", 2, digest="same"), _a("c", 7, digest="other")]
    agg = aggregate(Aggregation(type="voting", method="majority"), answers)
    assert agg.ok and agg.output["agent"] == "a" and agg.votes == {"change:same": 2.0, "change:other": 1.0}
