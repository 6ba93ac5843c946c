"""The retry policy of a step.

The executor asks ``should_retry(policy, kind, attempt)`` after each failed attempt and, when
it says yes, waits the next value of ``delays(policy)`` before trying again::

    waits = delays(step.retry)
    attempt = 1
    while True:
        try: return run_attempt()
        except AgentFailure as f:
            if not should_retry(step.retry, f.kind, attempt): raise
        time.sleep(next(waits)); attempt += 1
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from runner.errors import FailureKind
from runner.spec.models import Backoff, RetryPolicy

__all__ = ["NEVER_RETRY", "backoff_delay", "delays", "should_retry"]

# Retrying cannot help these, so they are never retried even when a policy lists them:
# a configuration error fails the same way again, a login needs a human, and a cancelled
# attempt was stopped on purpose (race lost, interrupt).
NEVER_RETRY = frozenset({FailureKind.CONFIG, FailureKind.LOGIN, FailureKind.CANCELLED})


def backoff_delay(backoff: Backoff, retry: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (0-based).

    ``initial × factor**retry``, capped at ``max``, then moved by a uniform fraction in
    ``[-jitter, +jitter]`` (so it can end up to ``jitter`` above ``max``); never negative.
    """
    try:
        base = backoff.initial * backoff.factor**retry
    except OverflowError:  # a long retry chain with a big factor: the cap applies anyway
        base = backoff.max
    base = min(base, backoff.max)
    if backoff.jitter > 0 and base > 0:
        base *= 1.0 + (rng or random).uniform(-backoff.jitter, backoff.jitter)
    return max(0.0, base)


def delays(policy: RetryPolicy, rng: random.Random | None = None) -> Iterator[float]:
    """The waits before each retry: exactly ``policy.limit`` values (none when limit is 0).

    ``rng`` makes the jitter reproducible (tests); by default the module's ``random``.
    """
    for n in range(max(0, policy.limit)):
        yield backoff_delay(policy.backoff, n, rng)


def should_retry(policy: RetryPolicy, kind: FailureKind, attempt: int) -> bool:
    """Whether to try again after ``attempt`` attempts (1-based count) failed, the last with ``kind``.

    True when another attempt is left (``attempt <= policy.limit``; limit counts the extra
    attempts after the first), ``kind`` is in ``policy.on``, and ``kind`` is not one of
    ``NEVER_RETRY`` (config, login, cancelled — retrying cannot help them, listed or not).
    """
    if kind in NEVER_RETRY or attempt > policy.limit:
        return False
    return kind in policy.on
