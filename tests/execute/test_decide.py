"""The early-decision rule per method, against the one thing it must guarantee: every way the
remaining agents could answer (each possible answer, or none) gives the output already decided."""

from __future__ import annotations

import itertools

import pytest

from runner.execute.aggregate import Answer, aggregate
from runner.execute.decide import decided
from runner.spec.models import Aggregation


def ans(i: int, result: str, confidence: float | None = None, weight: float = 1.0) -> Answer:
    return Answer(agent_id=f"a{i}", result=result, confidence=confidence, weight=weight)


def futures(seen: list[Answer], left: int, confidences=(None,), weight: float = 1.0):
    """Every full vote the seen answers can become: each remaining agent answers x, y, a new
    value, or fails."""
    options = [None] + [(v, c) for v in ("x", "y", "z") for c in confidences]
    for combo in itertools.product(options, repeat=left):
        extra = [ans(100 + i, o[0], o[1], weight) for i, o in enumerate(combo) if o is not None]
        yield seen + extra


def exact(spec: Aggregation, seen: list[Answer], left: int, **kw) -> bool:
    """True when no future changes the decided output (the definition of 'decided')."""
    now = aggregate(spec, seen)
    if not now.ok:
        return False
    return all((full := aggregate(spec, f)).ok and full.output == now.output for f in futures(seen, left, **kw))


CASES = [
    (["x", "x", "x"], 2), (["x", "x"], 3), (["x", "x", "y"], 2), (["x", "x", "y"], 1), (["x"], 4),
    (["x", "x", "x", "y"], 1), (["x", "y"], 1), (["x", "x"], 1), (["x", "x", "x"], 3),
]


@pytest.mark.parametrize("method", ["majority", "plurality", "unanimous"])
@pytest.mark.parametrize(("values", "left"), CASES)
def test_head_count_methods_decide_exactly_when_no_future_changes_the_output(method, values, left):
    spec = Aggregation(type="voting", method=method)
    seen = [ans(i, v) for i, v in enumerate(values)]
    assert decided(spec, seen, [1.0] * left) == exact(spec, seen, left)


@pytest.mark.parametrize(("values", "left"), CASES)
@pytest.mark.parametrize("conf", [0.9, 0.3])
def test_weighted_voting_is_safe_against_the_most_confident_remaining_answers(values, left, conf):
    spec = Aggregation(type="voting", method="weighted")
    seen = [ans(i, v, conf) for i, v in enumerate(values)]
    early = decided(spec, seen, [1.0] * left)
    if early:  # never wrong: no future (confidences up to 1) changes the output
        assert exact(spec, seen, left, confidences=(0.0, 0.5, 1.0))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
@pytest.mark.parametrize(("values", "left"), CASES)
def test_consensus_is_safe_and_decides_the_clear_cases(threshold, values, left):
    spec = Aggregation(type="consensus", threshold=threshold)
    seen = [ans(i, v, 0.8) for i, v in enumerate(values)]
    if decided(spec, seen, [1.0] * left):
        assert exact(spec, seen, left, confidences=(0.0, 0.5, 1.0))


def test_the_textbook_cases():
    three = [ans(i, "yes") for i in range(3)]
    assert decided(Aggregation(type="voting"), three, [1.0, 1.0])  # 3 of 5 agree: majority
    assert not decided(Aggregation(type="voting"), three[:2], [1.0] * 3)  # 2 of 5: not yet
    assert not decided(Aggregation(type="voting", method="unanimous"), three, [1.0])
    assert decided(Aggregation(type="voting", method="plurality"), three, [1.0, 1.0])
    assert not decided(Aggregation(type="voting", method="plurality"), three[:2], [1.0, 1.0])
    # A heavier agent still to answer can outweigh three light ones.
    light = [ans(i, "yes", 1.0, 0.5) for i in range(3)]
    assert not decided(Aggregation(type="voting", method="weighted"), light, [2.0])
    assert decided(Aggregation(type="voting", method="weighted"), light, [1.0])
    assert decided(Aggregation(type="consensus", threshold=0.5), [ans(i, "y", 0.9) for i in range(3)], [1.0, 1.0])
    assert not decided(Aggregation(type="consensus", threshold=0.8), [ans(i, "y", 0.9) for i in range(3)], [1.0, 1.0])


def test_nothing_is_decided_before_the_quorum_of_distinct_agents():
    three = [ans(i, "yes") for i in range(3)]
    assert decided(Aggregation(type="voting"), three, [1.0, 1.0], quorum=3)
    assert not decided(Aggregation(type="voting"), three, [1.0, 1.0], quorum=4)


def test_other_types_and_nothing_left_are_never_decided_early():
    three = [ans(i, "yes") for i in range(3)]
    for t in ("first", "all", "merge", "best-confidence", "best-change"):
        assert not decided(Aggregation(type=t), three, [1.0, 1.0])
    assert not decided(Aggregation(type="voting"), three, [])
