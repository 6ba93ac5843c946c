from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.execute.aggregate import Aggregate, Answer, aggregate, canonical
from runner.spec.models import Aggregation


def answers(*results, conf=None):
    return [Answer(agent_id=f"a{i}", result=r, confidence=conf) for i, r in enumerate(results)]


VOTE = {m: Aggregation(type="voting", method=m) for m in ("majority", "plurality", "unanimous", "weighted")}


# ---------------------------------------------------------------- canonical forms


def test_canonical_strings_are_stripped_and_casefolded():
    assert canonical("  PASS\n") == canonical("pass") == "pass"
    assert canonical("Straße") == canonical("STRASSE")


def test_canonical_json_sorts_keys_and_keeps_types_apart_from_floats():
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1})
    assert canonical([1, 2]) != canonical([2, 1])
    assert canonical(1) != canonical(1.0)
    assert canonical(42) == canonical("42")  # documented: both read `42`
    assert canonical({"x": "A"}) != canonical({"x": "a"})  # only top-level strings are folded


def test_canonical_never_fails_on_odd_values():
    assert canonical({1: "a", "b": 2})  # mixed key types cannot be sorted
    assert canonical(object()).startswith('"<object')


# ---------------------------------------------------------------- no answers / bad spec


@pytest.mark.parametrize(
    "spec",
    [
        *VOTE.values(),
        Aggregation(type="consensus"),
        Aggregation(type="merge"),
        Aggregation(type="first"),
        Aggregation(type="best-confidence"),
        Aggregation(type="all"),
    ],
)
def test_no_answers_is_not_ok(spec):
    agg = aggregate(spec, [])
    assert agg == Aggregate(
        output=None, confidence=None, votes={}, agreement=None, ok=False, reason="no answers to aggregate"
    )


def test_unknown_type_or_method_is_a_bug():
    with pytest.raises(ValueError, match="unknown aggregation type 'vote'"):
        aggregate(Aggregation(type="vote"), answers("x"))
    with pytest.raises(ValueError, match="unknown voting method 'most'"):
        aggregate(Aggregation(type="voting", method="most"), answers("x"))


# ---------------------------------------------------------------- voting


def test_majority_wins_with_more_than_half_and_keeps_original_value():
    agg = aggregate(VOTE["majority"], answers(" Yes", "yes", "no"))
    assert agg.ok and agg.output == " Yes"
    assert agg.votes == {"yes": 2.0, "no": 1.0}
    assert agg.agreement == pytest.approx(2 / 3)
    assert agg.reason == "majority: 2 of 3 votes for 'yes'"


def test_majority_half_is_not_enough():
    assert not aggregate(VOTE["majority"], answers("a", "a", "b", "c")).ok
    agg = aggregate(VOTE["majority"], answers("a", "a", "b", "b"))
    assert not agg.ok and agg.output is None and agg.confidence is None
    assert agg.votes == {"a": 2.0, "b": 2.0}
    assert agg.agreement == 0.5
    assert agg.reason == "no majority: best answer 'a' has 2 of 4 votes"


def test_majority_three_way_split_fails():
    agg = aggregate(VOTE["majority"], answers("a", "a", "b", "c", "d"))
    assert not agg.ok and "no majority" in agg.reason


def test_plurality_most_votes_wins():
    agg = aggregate(VOTE["plurality"], answers("a", "b", "a", "c", "d"))
    assert agg.ok and agg.output == "a" and agg.agreement == pytest.approx(0.4)


def test_plurality_tie_names_the_tied_answers():
    agg = aggregate(VOTE["plurality"], answers("x", "Y", "y", "x", "z"))
    assert not agg.ok
    assert agg.reason == "tie between 'x', 'y' (2 votes each)"
    assert agg.votes == {"x": 2.0, "y": 2.0, "z": 1.0}


def test_unanimous():
    ok = aggregate(VOTE["unanimous"], answers({"a": 1, "b": [2]}, {"b": [2], "a": 1}, conf=0.8))
    assert ok.ok and ok.output == {"a": 1, "b": [2]} and ok.agreement == 1.0 and ok.confidence == 0.8
    bad = aggregate(VOTE["unanimous"], answers("a", "a", "b"))
    assert not bad.ok and bad.reason == "not unanimous: 2 different answers"


def test_single_answer_wins_every_vote():
    for spec in VOTE.values():
        agg = aggregate(spec, answers("only"))
        assert agg.ok and agg.output == "only" and agg.agreement == 1.0


def test_weighted_uses_confidence_times_weight():
    a = [
        Answer(agent_id="expert", result="fail", confidence=0.9, weight=2.0),  # 1.8
        Answer(agent_id="n1", result="pass", confidence=0.6),  # 0.6
        Answer(agent_id="n2", result="PASS", confidence=0.5),  # 0.5
    ]
    agg = aggregate(VOTE["weighted"], a)
    assert agg.ok and agg.output == "fail"
    assert agg.votes == pytest.approx({"fail": 1.8, "pass": 1.1})
    assert agg.agreement == pytest.approx(1.8 / 2.9)
    assert agg.confidence == 0.9
    # the same answers counted by heads lose: 2 of 3 say pass
    assert aggregate(VOTE["majority"], a).output == "pass"


def test_weighted_needs_more_than_half_of_total_weight():
    a = [Answer(agent_id="x", result="a", confidence=0.5), Answer(agent_id="y", result="b", confidence=0.5)]
    agg = aggregate(VOTE["weighted"], a)
    assert not agg.ok and agg.reason == "no majority: best answer 'a' has 0.5 of 1 weight"


def test_weighted_unknown_confidence_is_neutral():
    a = [Answer(agent_id="x", result="a"), Answer(agent_id="y", result="b", confidence=0.4)]
    agg = aggregate(VOTE["weighted"], a)
    assert agg.votes == {"a": 0.5, "b": 0.4}
    assert agg.ok and agg.output == "a"
    assert agg.confidence is None  # reported confidence is never invented


def test_weighted_zero_weight_everywhere_is_not_ok():
    a = [Answer(agent_id="x", result="a", confidence=0.0), Answer(agent_id="y", result="a", weight=0.0)]
    agg = aggregate(VOTE["weighted"], a)
    assert not agg.ok and agg.reason == "every answer has zero weight"


def test_voting_mixed_types():
    a = answers(42, "42", 42.0, {"n": 42}, None)
    agg = aggregate(VOTE["plurality"], a)
    assert agg.votes == {"42": 2.0, "42.0": 1.0, '{"n": 42}': 1.0, "null": 1.0}
    assert agg.ok and agg.output == 42


def test_voting_confidence_is_mean_of_known_in_winning_group():
    a = [
        Answer(agent_id="a", result="x", confidence=0.9),
        Answer(agent_id="b", result="x", confidence=None),
        Answer(agent_id="c", result="x", confidence=0.7),
        Answer(agent_id="d", result="y", confidence=0.1),
    ]
    assert aggregate(VOTE["majority"], a).confidence == pytest.approx(0.8)


# ---------------------------------------------------------------- consensus


def test_consensus_reaches_threshold():
    a = [
        Answer(agent_id="a", result="ok", confidence=0.9),
        Answer(agent_id="b", result="OK", confidence=0.7),
        Answer(agent_id="c", result="bad", confidence=0.4),
    ]
    agg = aggregate(Aggregation(type="consensus", threshold=0.75), a)
    share = 1.6 / 2.0
    assert agg.ok and agg.output == "ok"
    assert agg.agreement == pytest.approx(share)
    assert agg.confidence == pytest.approx(0.8 * share)
    assert agg.votes == pytest.approx({"ok": 1.6, "bad": 0.4})
    assert agg.reason == "consensus: 80% support for 'ok' (threshold 75%)"


def test_consensus_below_threshold():
    a = [
        Answer(agent_id="a", result="ok", confidence=0.6),
        Answer(agent_id="b", result="bad", confidence=0.4),
    ]
    agg = aggregate(Aggregation(type="consensus", threshold=0.7), a)
    assert not agg.ok and agg.output is None
    assert agg.reason == "no consensus: best answer 'ok' has 60% support, threshold 70%"
    assert agg.agreement == pytest.approx(0.6)


def test_consensus_threshold_is_inclusive():
    agg = aggregate(Aggregation(type="consensus", threshold=0.5), answers("a", "a", "b", "c"))
    assert agg.ok and agg.agreement == 0.5


def test_consensus_tie_is_not_ok():
    agg = aggregate(Aggregation(type="consensus", threshold=0.3), answers("a", "b"))
    assert not agg.ok and agg.reason == "no consensus: tie between 'a', 'b' (50% support each)"


def test_consensus_without_confidences_reports_none():
    agg = aggregate(Aggregation(type="consensus", threshold=1.0), answers("a", "a"))
    assert agg.ok and agg.agreement == 1.0 and agg.confidence is None


def test_consensus_zero_support():
    agg = aggregate(Aggregation(type="consensus"), answers("a", "a", conf=0.0))
    assert not agg.ok and agg.reason.startswith("no support")


# ---------------------------------------------------------------- merge


MERGE = Aggregation(type="merge")


def test_merge_dicts_deeply_in_agent_order():
    a = answers(
        {"issues": ["x", "y"], "meta": {"by": "a", "n": 1}, "summary": "first"},
        {"issues": ["y", "z"], "meta": {"n": 2, "extra": True}, "summary": "second"},
        None,
        conf=0.6,
    )
    agg = aggregate(MERGE, a)
    assert agg.ok and agg.votes == {} and agg.agreement is None
    assert agg.output == {
        "issues": ["x", "y", "z"],
        "meta": {"by": "a", "n": 2, "extra": True},  # conflicting scalar: the later agent wins
        "summary": "first\nsecond",
    }
    assert list(agg.output) == ["issues", "meta", "summary"]
    assert agg.confidence == 0.6
    assert agg.reason == "merged 2 answers"


def test_merge_lists_dedupes_by_value():
    agg = aggregate(MERGE, answers([1, {"a": 1, "b": 2}, "A"], [{"b": 2, "a": 1}, 1, "a", 3]))
    assert agg.output == [1, {"a": 1, "b": 2}, "A", "a", 3]


def test_merge_strings_joined_by_newline_once_each():
    agg = aggregate(MERGE, answers("one", "two", "one", "three"))
    assert agg.output == "one\ntwo\nthree"


def test_merge_equal_scalars_and_conflicts():
    assert aggregate(MERGE, answers(3, 3)).output == 3
    bad = aggregate(MERGE, answers({"a": 1}, "text"))
    assert not bad.ok and bad.reason == "cannot merge: answers of kinds dict, str that differ"
    assert not aggregate(MERGE, answers(1, 2)).ok


def test_merge_nothing():
    agg = aggregate(MERGE, answers(None, None))
    assert not agg.ok and agg.reason == "nothing to merge: every answer is empty"


def test_merge_does_not_mutate_inputs():
    a, b = {"x": [1], "d": {"k": 1}}, {"x": [2], "d": {"k": 2}}
    aggregate(MERGE, answers(a, b))
    assert a == {"x": [1], "d": {"k": 1}} and b == {"x": [2], "d": {"k": 2}}


# ---------------------------------------------------------------- first / best / all


def test_first_takes_the_first_given():
    a = [
        Answer(agent_id="fast", result="r1", confidence=0.2),
        Answer(agent_id="slow", result="r2", confidence=0.9),
    ]
    agg = aggregate(Aggregation(type="first"), a)
    assert agg == Aggregate(output="r1", confidence=0.2, reason="first answer, from fast")


def test_best_confidence_and_ties():
    a = [
        Answer(agent_id="a", result="r1", confidence=0.7),
        Answer(agent_id="b", result="r2", confidence=0.9),
        Answer(agent_id="c", result="r3", confidence=0.9),
        Answer(agent_id="d", result="r4", confidence=None, weight=10.0),
    ]
    agg = aggregate(Aggregation(type="best-confidence"), a)
    assert agg.ok and agg.output == "r2" and agg.confidence == 0.9
    assert agg.reason == "highest confidence (0.9), from b"


def test_best_confidence_unknown_ranks_neutral():
    a = [Answer(agent_id="a", result="r1", confidence=0.3), Answer(agent_id="b", result="r2")]
    agg = aggregate(Aggregation(type="best-confidence"), a)
    assert agg.output == "r2" and agg.confidence is None


def test_all_lists_every_answer():
    a = [
        Answer(agent_id="a", result={"v": 1}, confidence=0.4, reasoning="because"),
        Answer(agent_id="b", result="x", confidence=None),
        Answer(agent_id="c", result=None, confidence=0.8),
    ]
    agg = aggregate(Aggregation(type="all"), a)
    assert agg.ok and agg.votes == {} and agg.agreement is None
    assert agg.output == [
        {"agent": "a", "result": {"v": 1}, "confidence": 0.4, "reasoning": "because"},
        {"agent": "b", "result": "x", "confidence": None, "reasoning": ""},
        {"agent": "c", "result": None, "confidence": 0.8, "reasoning": ""},
    ]
    assert agg.confidence == pytest.approx(0.6)
    assert agg.reason == "all 3 answers"


# ---------------------------------------------------------------- invariants


results = st.one_of(
    st.sampled_from(["yes", "YES ", "no", "No", "maybe"]),
    st.integers(-2, 2),
    st.dictionaries(st.sampled_from("ab"), st.integers(0, 1), max_size=2),
)
# dyadic numbers add up exactly in any order, so order-independence is a fair property
confidences = st.sampled_from([None, 0.0, 0.25, 0.5, 0.75, 1.0])
answer_lists = st.lists(
    st.builds(
        Answer,
        agent_id=st.sampled_from(["a", "b", "c", "d"]),
        result=results,
        confidence=confidences,
        weight=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    ),
    min_size=1,
    max_size=8,
)
specs = st.one_of(
    st.sampled_from(list(VOTE.values())),
    st.builds(Aggregation, type=st.just("consensus"), threshold=st.floats(0, 1)),
)


@given(answer_lists, specs)
def test_decided_output_is_an_original_answer_of_the_winning_group(a, spec):
    agg = aggregate(spec, a)
    if agg.ok:
        assert any(x.result is agg.output for x in a)
        first = next(x for x in a if canonical(x.result) == canonical(agg.output))
        assert first.result is agg.output
        assert agg.agreement is not None and 0 <= agg.agreement <= 1 + 1e-9
        assert agg.confidence is None or 0 <= agg.confidence <= 1
        assert max(agg.votes.values()) == agg.votes[canonical(agg.output)]
    else:
        assert agg.output is None and agg.confidence is None and agg.reason


@given(answer_lists)
def test_vote_counts_add_up_and_methods_are_ordered(a):
    votes = aggregate(VOTE["plurality"], a).votes
    assert sum(votes.values()) == len(a)
    maj, plu, una = (aggregate(VOTE[m], a) for m in ("majority", "plurality", "unanimous"))
    if una.ok:
        assert maj.ok and canonical(maj.output) == canonical(una.output)
    if maj.ok:
        assert plu.ok and canonical(plu.output) == canonical(maj.output)
    assert una.ok == (len({canonical(x.result) for x in a}) == 1)


@given(answer_lists, st.randoms(use_true_random=False))
def test_vote_decision_does_not_depend_on_order(a, rnd):
    shuffled = list(a)
    rnd.shuffle(shuffled)
    for spec in VOTE.values():
        x, y = aggregate(spec, a), aggregate(spec, shuffled)
        assert x.ok == y.ok
        if x.ok:
            assert canonical(x.output) == canonical(y.output)


@given(answer_lists)
def test_all_and_first_and_best_always_decide(a):
    assert aggregate(Aggregation(type="all"), a).ok
    assert aggregate(Aggregation(type="first"), a).output is a[0].result
    best = aggregate(Aggregation(type="best-confidence"), a)
    assert any(x.result is best.output for x in a)


@given(st.lists(st.lists(st.integers(0, 5), max_size=5), min_size=1, max_size=5))
def test_merge_of_lists_holds_every_item_once(lists):
    agg = aggregate(MERGE, answers(*lists))
    assert agg.ok
    assert sorted(agg.output) == sorted(set().union(*map(set, lists)))


def test_nonsense_numbers_get_no_say_and_never_crash():
    a = [
        Answer(agent_id="x", result="a", confidence=float("nan")),
        Answer(agent_id="y", result="b", weight=float("inf")),
        Answer(agent_id="z", result="c", confidence=-1.0),
        Answer(agent_id="w", result="d", confidence=0.75, weight=-2.0),
        Answer(agent_id="v", result="e", confidence=0.25, weight=1 / 3),
    ]
    agg = aggregate(VOTE["weighted"], a)
    assert agg.votes == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.25 / 3})
    assert agg.ok and agg.output == "e" and agg.reason == "weighted: 0.083 of 0.083 weight for 'e'"


@pytest.mark.parametrize("spec", [Aggregation(type="consensus"), Aggregation(type="voting", method="weighted"),
                                  Aggregation(type="voting", method="majority")])
def test_the_outcome_does_not_depend_on_the_order_answers_arrived_in(spec):
    # plain float sums of these differ by order (0.68 vs 0.6799999999999999); a replay, whose
    # answers come in another order than the recorded run's, must give the same figures
    confidences = [0.9, 0.7, 0.44, 0.68, 0.6]
    base = [Answer(agent_id=f"a{i}", result="yes", confidence=c) for i, c in enumerate(confidences)]
    seen = {(r.output, r.confidence, tuple(sorted(r.votes.items())), r.agreement)
            for r in (aggregate(spec, list(p)) for p in itertools.permutations(base))}
    assert len(seen) == 1, seen
