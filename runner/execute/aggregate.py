"""Turn the answers of a step's agents into the step's one output.

``aggregate(spec, answers)`` is pure: same answers in, same ``Aggregate`` out. The executor
passes the *successful* answers only, in completion order (``first`` relies on that).

Rules that hold for every method (documented once here, tested in
``tests/execute/test_aggregate.py``):

* **Equality of answers** (voting, consensus, list de-duplication in ``merge``) compares
  *canonical keys*: a string is ``.strip().casefold()``-ed; any other value is its JSON text
  with sorted keys (values JSON cannot hold are ``str()``-ed). So ``" Yes"`` equals ``"yes"``,
  ``{"a": 1, "b": 2}`` equals ``{"b": 2, "a": 1}``, and ``42`` equals ``"42"`` (both read
  ``42``) — but ``1`` and ``1.0`` differ, and strings nested inside lists or dicts are
  compared exactly. The output is the *original* value of the first answer of the winning
  group, never the canonical form.
* **Changes** (steps whose agents work in workspaces): an answer carries its captured
  change. ``voting`` and ``consensus`` then compare *changes* (identical patches are one
  answer) and output the winning change; ``best-change`` ranks them: verified first, then
  highest confidence, then fewest changed lines, then agent id (so ties are deterministic).
* **Unknown confidence** (``None``) counts as ``NEUTRAL_CONFIDENCE`` (0.5) wherever it is a
  *weight* (weighted voting, consensus support, best-confidence ranking). A *reported*
  confidence is the mean of the known confidences of the answers it stands for, and ``None``
  when none of them reported one: runner never invents a confidence it was not given.
* **Not decided** (``ok=False``): no answers, no majority, a tie, not unanimous, consensus
  below threshold, values ``merge`` cannot combine. Then ``output`` and ``confidence`` are
  ``None``; ``votes`` and ``agreement`` still describe what was seen (``agreement`` = share
  of the largest group) and ``reason`` says why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.spec.models import Aggregation

__all__ = ["Answer", "Aggregate", "aggregate", "canonical", "NEUTRAL_CONFIDENCE", "TYPES", "VOTING_METHODS"]

NEUTRAL_CONFIDENCE = 0.5
TYPES = ("voting", "consensus", "merge", "first", "best-confidence", "best-change", "all")
VOTING_METHODS = ("majority", "plurality", "unanimous", "weighted")


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One agent's successful answer. ``weight`` scales its vote (e.g. the agent's expertise)."""

    agent_id: str
    result: Any
    confidence: float | None = None
    reasoning: str = ""
    weight: float = 1.0
    change: dict[str, Any] | None = None  # the captured change (a workspace step's answer)

    @property
    def value(self) -> Any:
        """What voting compares and outputs: the change when there is one, else the result."""
        return self.result if self.change is None else self.change

    @property
    def strength(self) -> float:
        """Confidence (``None`` → neutral 0.5) × weight: the answer's say in weighted methods."""
        c = NEUTRAL_CONFIDENCE if self.confidence is None else self.confidence
        s = max(0.0, c) * max(0.0, self.weight)
        return s if math.isfinite(s) else 0.0  # NaN/inf inputs get no say rather than all of it


@dataclass(frozen=True, kw_only=True)
class Aggregate:
    """A step's decided output, and how it was decided.

    ``votes`` maps each canonical answer to its head count (majority, plurality, unanimous)
    or its confidence×weight (weighted, consensus); it is empty for merge, first,
    best-confidence and all, which do not compare answers, and so is ``agreement``
    (``None``). ``reason`` is one human-readable line for the results.
    """

    output: Any
    confidence: float | None
    votes: dict[str, float] = field(default_factory=dict)
    agreement: float | None = None  # share of votes / weight agreeing with the output
    ok: bool = True
    reason: str = ""


def canonical(value: Any) -> str:
    """The text two answers must share to count as equal (see the module docstring)."""
    if isinstance(value, str):
        return value.strip().casefold()
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # mixed key types in a dict, circular values
        return str(value)


def aggregate(spec: Aggregation, answers: Sequence[Answer]) -> Aggregate:
    """Decide a step's output from its agents' answers according to ``spec``.

    Raises ``ValueError`` for an unknown ``spec.type`` / ``spec.method`` (the spec loader
    rejects those, so reaching it is a bug).
    """
    if spec.type not in _METHODS:
        raise ValueError(f"unknown aggregation type {spec.type!r}; expected one of {', '.join(TYPES)}")
    if spec.type == "voting" and spec.method not in VOTING_METHODS:
        raise ValueError(
            f"unknown voting method {spec.method!r}; expected one of {', '.join(VOTING_METHODS)}"
        )
    if not answers:
        return _undecided("no answers to aggregate")
    return _METHODS[spec.type](spec, list(answers))


# ---------------------------------------------------------------- helpers


def _undecided(
    reason: str, votes: dict[str, float] | None = None, agreement: float | None = None
) -> Aggregate:
    return Aggregate(
        output=None, confidence=None, votes=votes or {}, agreement=agreement, ok=False, reason=reason
    )


def mean_confidence(answers: Sequence[Answer]) -> float | None:
    """Mean of the known confidences; ``None`` when no answer reported one. ``fsum`` is exact, so
    the mean does not depend on the order the answers arrived in (a replay gives the same figure)."""
    known = [a.confidence for a in answers if a.confidence is not None]
    return math.fsum(known) / len(known) if known else None


def group_key(a: Answer) -> str:
    """The key answers that count as equal share: the canonical result, or the change's digest."""
    return canonical(a.result) if a.change is None else f"change:{a.change.get('digest') or 'empty'}"


def _groups(answers: list[Answer]) -> dict[str, list[Answer]]:
    """Answers grouped by canonical key, groups in order of first appearance."""
    groups: dict[str, list[Answer]] = {}
    for a in answers:
        groups.setdefault(group_key(a), []).append(a)
    return groups


def _tally(groups: dict[str, list[Answer]], score: Callable[[list[Answer]], float]) -> dict[str, float]:
    return {key: score(members) for key, members in groups.items()}


def _leaders(votes: dict[str, float]) -> list[str]:
    best = max(votes.values())
    return [k for k, v in votes.items() if math.isclose(v, best, rel_tol=1e-9, abs_tol=1e-12)]


def _fmt(x: float) -> str:
    return f"{round(x, 3):g}"


# ---------------------------------------------------------------- methods


def _voting(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    groups = _groups(answers)
    weighted = spec.method == "weighted"
    votes = _tally(groups, (lambda g: math.fsum(a.strength for a in g)) if weighted else (lambda g: float(len(g))))
    total = math.fsum(votes.values())
    unit = "weight" if weighted else "votes"
    if total <= 0:
        return _undecided("every answer has zero weight", votes)
    leaders = _leaders(votes)
    top = leaders[0]
    share = votes[top] / total

    if spec.method == "unanimous":
        if len(groups) > 1:
            return _undecided(f"not unanimous: {len(groups)} different answers", votes, share)
    elif spec.method == "plurality":
        if len(leaders) > 1:
            tied = ", ".join(repr(k) for k in leaders)
            return _undecided(f"tie between {tied} ({_fmt(votes[top])} {unit} each)", votes, share)
    elif votes[top] * 2 <= total or len(leaders) > 1:  # majority / weighted: strictly more than half
        return _undecided(
            f"no majority: best answer {top!r} has {_fmt(votes[top])} of {_fmt(total)} {unit}", votes, share
        )
    winners = groups[top]
    return Aggregate(
        output=winners[0].value,
        confidence=mean_confidence(winners),
        votes=votes,
        agreement=share,
        reason=f"{spec.method}: {_fmt(votes[top])} of {_fmt(total)} {unit} for {top!r}",
    )


def _consensus(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    """Largest group by confidence×weight support must reach ``threshold`` of all support.

    Confidence = mean known confidence of the group × agreement: a consensus reached by
    confident agents that nearly everyone shares scores high; a bare one scores low.
    """
    groups = _groups(answers)
    votes = _tally(groups, lambda g: math.fsum(a.strength for a in g))
    total = math.fsum(votes.values())
    if total <= 0:
        return _undecided("no support: every answer has zero confidence or weight", votes)
    leaders = _leaders(votes)
    top = leaders[0]
    share = votes[top] / total
    if len(leaders) > 1:
        tied = ", ".join(repr(k) for k in leaders)
        return _undecided(f"no consensus: tie between {tied} ({share:.0%} support each)", votes, share)
    if share < spec.threshold - 1e-12:
        return _undecided(
            f"no consensus: best answer {top!r} has {share:.0%} support, threshold {spec.threshold:.0%}",
            votes,
            share,
        )
    winners = groups[top]
    mean = mean_confidence(winners)
    return Aggregate(
        output=winners[0].value,
        confidence=None if mean is None else mean * share,
        votes=votes,
        agreement=share,
        reason=f"consensus: {share:.0%} support for {top!r} (threshold {spec.threshold:.0%})",
    )


def _merge(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    values = [a.result for a in answers if a.result is not None]
    if not values:
        return _undecided("nothing to merge: every answer is empty")
    try:
        output = merge_values(values, top=True)
    except _CannotMerge as exc:
        return _undecided(f"cannot merge: {exc}")
    return Aggregate(
        output=output,
        confidence=mean_confidence(answers),
        reason=f"merged {len(values)} answer{'s' if len(values) != 1 else ''}",
    )


class _CannotMerge(Exception):
    pass


def merge_values(values: list[Any], *, top: bool = False) -> Any:
    """Merge values in order: dicts deep-merged, lists concatenated without duplicates,
    strings joined by newlines (identical ones once), equal scalars kept.

    Below the top level a conflict (different scalars, or different kinds under one key)
    goes to the later value, as ``dict.update`` would; at the top level it is an error.
    """
    if all(isinstance(v, dict) for v in values):
        keys: dict[Any, None] = {}
        for v in values:
            keys.update(dict.fromkeys(v))
        return {k: merge_values([v[k] for v in values if k in v]) for k in keys}
    if all(isinstance(v, list) for v in values):
        seen: dict[str, Any] = {}
        for v in values:
            for item in v:
                seen.setdefault(canonical(item) if not isinstance(item, str) else json.dumps(item), item)
        return list(seen.values())
    if all(isinstance(v, str) for v in values):
        return "\n".join(dict.fromkeys(values))
    if len({canonical(v) for v in values}) == 1:
        return values[0]
    if top:
        kinds = ", ".join(dict.fromkeys(type(v).__name__ for v in values))
        raise _CannotMerge(f"answers of kinds {kinds} that differ")
    return values[-1]


def _first(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    a = answers[0]
    return Aggregate(output=a.result, confidence=a.confidence, reason=f"first answer, from {a.agent_id}")


def _best_confidence(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    """Highest confidence (unknown → 0.5); ties go to the earlier answer. Weight is ignored."""

    def rank(a: Answer) -> float:
        return NEUTRAL_CONFIDENCE if a.confidence is None else a.confidence

    best = max(answers, key=rank)  # max() keeps the first of equal keys
    return Aggregate(
        output=best.result,
        confidence=best.confidence,
        reason=f"highest confidence ({_fmt(rank(best))}), from {best.agent_id}",
    )


def _best_change(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    """Verified first, then highest confidence (unknown → 0.5), fewest changed lines, agent id."""
    changed = [a for a in answers if a.change is not None]
    if not changed:
        return _undecided("no answer carries a change (the step has no workspace)")

    def rank(a: Answer) -> tuple[int, float, int, str]:
        c = a.change or {}
        ok = (c.get("verify") or {}).get("ok")
        verified = 0 if ok is True else 1 if ok is None else 2
        conf = NEUTRAL_CONFIDENCE if a.confidence is None else a.confidence
        return verified, -conf, int(c.get("lines", 0)), a.agent_id

    best = min(changed, key=rank)
    c = best.change or {}
    return Aggregate(
        output=best.change, confidence=best.confidence,
        reason=f"best change of {len(changed)}: {best.agent_id} ({c.get('lines', 0)} lines changed"
               f"{', verified' if (c.get('verify') or {}).get('ok') else ''})",
    )


def _all(spec: Aggregation, answers: list[Answer]) -> Aggregate:
    output = [
        {"agent": a.agent_id, "result": a.result, "confidence": a.confidence, "reasoning": a.reasoning}
        for a in answers
    ]
    n = len(answers)
    return Aggregate(
        output=output, confidence=mean_confidence(answers), reason=f"all {n} answer{'s' if n != 1 else ''}"
    )


_METHODS: dict[str, Callable[[Aggregation, list[Answer]], Aggregate]] = {
    "voting": _voting,
    "consensus": _consensus,
    "merge": _merge,
    "first": _first,
    "best-confidence": _best_confidence,
    "best-change": _best_change,
    "all": _all,
}
