"""Whether a vote has decided before every agent answered (``aggregation.complete: false``).

``decided(spec, answers, remaining, quorum=)`` is pure: it says True only when *no* way the
remaining agents could answer (any answer, any confidence, or none at all: a failure) would
change the step's output. The executor then cancels the remaining agents' tasks
(``cancelled: decided early``) and aggregates the answers it has: the output is the one a full
vote gives, because the winning group is fixed and its first answer is already in.

``remaining`` holds, per agent that may still answer, the most say its answer could have: 1
for a head count; for weighted methods the highest weight any agent that could still answer
for that slot has (a retry may move a slot to another agent) × the highest confidence, 1.
Rules (``c`` = head count or confidence×weight per answer group, ``L`` the leader, ``R`` the
remaining say, ``T`` the total seen):

* majority / weighted: ``2·c(L) > T + R`` (strictly more than half whatever comes).
* plurality: ``c(L) > c(second) + R`` (no answer can catch up or tie).
* unanimous: never before the last agent answered (one different answer undoes it).
* consensus: ``c(L) > c(second) + R`` and ``c(L) / (T + R) ≥ threshold``.

``escalation_rule`` serves ``aggregation.escalate``: a step asks ``agents.min`` agents first and
one more each time all those asked have returned without agreeing (up to ``agents.max``).

Nothing is decided before ``quorum`` distinct agents answered (voting and consensus need
``agents.min`` of them). Only a *winner* is decided early; an outcome that can no longer be
won (a step that will fail) still waits for every answer, as a full vote would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from runner.agents.model import AgentInfo
from runner.execute.aggregate import Answer, aggregate, group_key
from runner.spec.models import Aggregation, Step

__all__ = ["EARLY_TYPES", "MAX_CONFIDENCE", "Rule", "decided", "early_rule", "escalation_rule", "weight"]

EARLY_TYPES = ("voting", "consensus")  # the types whose outcome can be known before all answer
MAX_CONFIDENCE = 1.0  # a reported confidence lies in [0, 1] (runner/agents/parse.py)
_EPS = 1e-9  # margin, so a float tie is never called decided


def decided(spec: Aggregation, answers: Sequence[Answer], remaining: Sequence[float], *, quorum: int = 1) -> bool:
    """True when the answers so far fix the step's output whatever the remaining agents do."""
    if spec.type not in EARLY_TYPES or not answers or not remaining:
        return False  # nothing left to save (or nothing to decide on)
    if len({a.agent_id for a in answers}) < quorum:
        return False
    if spec.type == "voting" and spec.method == "unanimous":
        return False
    if not aggregate(spec, answers).ok:
        return False  # no winner yet: only a winner is decided early
    weighted = spec.type == "consensus" or spec.method == "weighted"
    votes = _tally(answers, weighted)
    rest = math.fsum(remaining) if weighted else float(len(remaining))
    total = math.fsum(votes.values())
    ranked = sorted(votes.values(), reverse=True)
    lead, second = ranked[0], (ranked[1] if len(ranked) > 1 else 0.0)
    if spec.type == "consensus":
        return lead > second + rest + _EPS and lead >= spec.threshold * (total + rest) - 1e-12
    if spec.method == "plurality":
        return lead > second + rest + _EPS
    return 2 * lead > total + rest + _EPS  # majority, weighted


def _tally(answers: Sequence[Answer], weighted: bool) -> dict[str, float]:
    """Say per answer group, grouped as ``aggregate`` groups them (changes by their digest)."""
    votes: dict[str, float] = {}
    for a in answers:
        key = group_key(a)
        votes[key] = votes.get(key, 0.0) + (a.strength if weighted else 1.0)
    return votes


def weight(step: Step, info: AgentInfo) -> float:
    """An agent's say in ``step``'s vote: its expertise in the step's capabilities (best of them)."""
    return max((info.expertise.get(c, info.expertise.get("*", 1.0)) for c in step.agents.capabilities),
               default=info.expertise.get("*", 1.0))


Rule = Callable[[Sequence[Answer], int], bool]  # (an item's answers so far, agents still to answer) -> decided


def early_rule(step: Step, candidates: Sequence[AgentInfo]) -> Rule | None:
    """The test a step's item is decided by before all its agents answered; None when it waits
    for all: ``aggregation.complete``, a type other than voting/consensus, a strategy other than
    parallel, or a ``validation.minConfidence`` (the output's confidence counts every winner)."""
    agg = step.aggregation
    if agg.complete or agg.type not in EARLY_TYPES or step.strategy != "parallel" \
            or step.validation.min_confidence is not None:
        return None
    most = _most(step, candidates)

    def rule(answers: Sequence[Answer], left: int) -> bool:
        return decided(agg, answers, [most] * left, quorum=step.agents.min)

    return rule


def _most(step: Step, candidates: Sequence[AgentInfo]) -> float:
    able = [weight(step, a) for a in candidates if a.has(step.agents.capabilities)]
    return max(able, default=1.0) * MAX_CONFIDENCE  # a retry may move a slot to any able agent


def escalation_rule(step: Step, candidates: Sequence[AgentInfo]) -> Rule | None:
    """``aggregation.escalate``: whether an item whose agents all returned has heard enough, or
    another agent must be asked (``left``: the agents not asked yet). Enough: ``agents.min``
    distinct agents answered and they agree (one answer group, and it wins), or the outcome is
    decided whatever the agents not asked would answer (``decided``). None: the step does not
    escalate."""
    agg = step.aggregation
    if not agg.escalate or agg.type not in EARLY_TYPES or step.strategy != "parallel":
        return None
    most = _most(step, candidates)

    def rule(answers: Sequence[Answer], left: int) -> bool:
        if len({a.agent_id for a in answers}) < step.agents.min:
            return False  # a failed agent: ask another in its place
        if len({group_key(a) for a in answers}) == 1:
            return aggregate(agg, answers).ok
        return decided(agg, answers, [most] * left, quorum=step.agents.min)

    return rule
