from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.errors import FailureKind, SpecError
from runner.execute.retry import NEVER_RETRY, backoff_delay, delays, should_retry
from runner.spec import parse_pattern
from runner.spec.models import DEFAULT_RETRY_ON, Backoff, RetryPolicy


def policy(limit=3, initial=0.5, factor=2.0, max=30.0, jitter=0.0, on=DEFAULT_RETRY_ON):
    return RetryPolicy(
        limit=limit, backoff=Backoff(initial=initial, factor=factor, max=max, jitter=jitter), on=on
    )


# ---------------------------------------------------------------- delays


def test_delays_without_jitter_grow_geometrically_and_are_capped():
    assert list(delays(policy(limit=6, initial=0.5, factor=2.0, max=5.0))) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_delays_count_is_the_limit():
    assert list(delays(policy(limit=0))) == []
    assert len(list(delays(policy(limit=4)))) == 4


def test_delays_with_seeded_rng_are_reproducible():
    p = policy(limit=5, initial=1.0, factor=3.0, max=20.0, jitter=0.25)
    a = list(delays(p, random.Random(7)))
    b = list(delays(p, random.Random(7)))
    assert a == b
    expected = []
    rng = random.Random(7)
    for base in (1.0, 3.0, 9.0, 20.0, 20.0):
        expected.append(base * (1 + rng.uniform(-0.25, 0.25)))
    assert a == pytest.approx(expected)
    assert a != list(delays(p, random.Random(8)))


def test_constant_backoff():
    assert list(delays(policy(limit=3, initial=2.0, factor=1.0))) == [2.0, 2.0, 2.0]


def test_zero_initial_means_no_wait_even_with_jitter():
    assert list(delays(policy(limit=3, initial=0.0, jitter=0.5), random.Random(1))) == [0.0, 0.0, 0.0]


def test_huge_retry_index_does_not_overflow():
    assert backoff_delay(Backoff(initial=1.0, factor=10.0, max=7.0, jitter=0.0), 5000) == 7.0


@given(
    initial=st.floats(0, 100),
    factor=st.floats(1, 10),
    cap=st.floats(0, 100),
    jitter=st.floats(0, 1),
    n=st.integers(0, 60),
    seed=st.integers(0, 2**32),
)
def test_jitter_stays_within_its_fraction_of_the_capped_delay(initial, factor, cap, jitter, n, seed):
    b = Backoff(initial=initial, factor=factor, max=cap, jitter=jitter)
    base = min(initial * factor**n, cap)
    d = backoff_delay(b, n, random.Random(seed))
    assert d >= 0
    assert base * (1 - jitter) - 1e-9 <= d <= base * (1 + jitter) + 1e-9


# ---------------------------------------------------------------- should_retry


def test_retries_listed_kinds_until_the_limit():
    p = policy(limit=2)
    assert should_retry(p, FailureKind.CRASH, 1)
    assert should_retry(p, FailureKind.CRASH, 2)
    assert not should_retry(p, FailureKind.CRASH, 3)  # 1 attempt + 2 retries made


def test_no_retries_with_limit_zero():
    assert not should_retry(policy(limit=0), FailureKind.TIMEOUT, 1)


@pytest.mark.parametrize("kind", list(FailureKind))
def test_default_kinds(kind):
    expected = kind.value in ("infrastructure", "crash", "timeout", "hang", "parse")
    assert should_retry(policy(limit=1), kind, 1) is expected


def test_only_listed_kinds_retry():
    p = policy(on=(FailureKind.TASK, FailureKind.VALIDATION))
    assert should_retry(p, FailureKind.TASK, 1)
    assert should_retry(p, FailureKind.VALIDATION, 1)
    assert not should_retry(p, FailureKind.CRASH, 1)


@pytest.mark.parametrize("kind", sorted(NEVER_RETRY))
def test_config_login_cancelled_never_retry_even_when_listed(kind):
    assert {k.value for k in NEVER_RETRY} == {"config", "login", "cancelled"}
    p = policy(limit=5, on=tuple(FailureKind))
    assert not should_retry(p, kind, 1)


def test_the_loader_turns_retry_on_into_kinds_once_and_refuses_unknown_ones():
    """Strings become FailureKinds when the file is read; retry never sees a string."""
    step = parse_pattern(PATTERN.format(on="[crash, validation]"), "p.yaml").steps[0]
    assert step.retry.on == (FailureKind.CRASH, FailureKind.VALIDATION)
    assert all(type(k) is FailureKind for k in step.retry.on)
    assert all(type(k) is FailureKind for k in parse_pattern(PATTERN.format(on="[]"), "p.yaml").steps[0].retry.on)
    assert all(type(k) is FailureKind for k in DEFAULT_RETRY_ON)
    with pytest.raises(SpecError) as exc:
        parse_pattern(PATTERN.format(on="[crash, gremlins]"), "p.yaml")
    assert exc.value.diagnostics[0].render() == (
        'p.yaml:6:35: $.steps[0].retry.on[1]: expected one of: infrastructure, crash, timeout, hang, task, '
        'parse, validation, login, config, cancelled, verify, no-change, denied, land, budget, got string "gremlins"')


PATTERN = """\
name: p
steps:
  - id: s
    agents: {{capabilities: [w]}}
    task: go
    retry: {{limit: 1, on: {on}}}
"""
