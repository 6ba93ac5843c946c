"""A run's status, exit code and error from its steps' records (README "Exit codes"); what a
failed node records. Whole runs reaching each verdict: tests/execute/test_executor.py."""

from __future__ import annotations

import pytest

from runner.errors import (
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_WAITING,
    ConfigurationError,
    FailureKind,
    Interrupted,
    StepFailed,
)
from runner.execute.records import StepRecord
from runner.execute.verdict import classify, verdict


def records(*specs: tuple[str, str, FailureKind | None]) -> dict[str, StepRecord]:
    out = {}
    for step, status, kind in specs:
        out[step] = StepRecord(id=step, status=status, error_kind=kind, error=f"{step} broke" if status == "failed" else None)
    return out


def test_every_step_succeeded_or_skipped_is_success():
    assert verdict(records(("a", "succeeded", None), ("b", "skipped", None)), None, None, "r1") == \
        ("succeeded", EXIT_OK, None)


def test_an_interruption_wins_over_everything_with_its_signals_code():
    status, code, error = verdict(records(("a", "failed", FailureKind.TASK)), None, Interrupted("SIGTERM"), "r1")
    assert (status, code, error) == ("interrupted", EXIT_TERMINATED,
                                     {"kind": "interrupted", "message": "interrupted by SIGTERM"})


@pytest.mark.parametrize("kind", [FailureKind.TIMEOUT, FailureKind.BUDGET])
def test_a_run_stopped_by_its_timeout_or_budget_reports_that_not_its_steps(kind):
    got = verdict(records(("a", "failed", FailureKind.CONFIG)), (kind, "the run exceeded it"), None, "r1")
    assert got == ("failed", EXIT_FAILED, {"kind": kind.value, "message": "the run exceeded it"})


def test_a_step_waiting_for_approval_says_how_to_go_on():
    recs = records(("a", "succeeded", None), ("gate", "waiting", None))
    recs["gate"].waiting = "approve the release"
    status, code, error = verdict(recs, None, None, "r7")
    assert (status, code) == ("waiting", EXIT_WAITING)
    assert error == {"kind": "waiting", "message": "step `gate` waits for approval (approve the release): "
                                                   "runner approve r7 gate, then runner apply --resume r7"}


def test_a_failure_beside_a_waiting_step_is_a_failure():
    recs = records(("gate", "waiting", None), ("b", "failed", FailureKind.TASK))
    assert verdict(recs, None, None, "r1")[:2] == ("failed", EXIT_FAILED)


@pytest.mark.parametrize(("kinds", "status", "code"), [
    ([FailureKind.CONFIG], "error", EXIT_INVALID),
    ([FailureKind.INFRASTRUCTURE, FailureKind.LOGIN], "error", EXIT_INFRA),
    ([FailureKind.INFRASTRUCTURE, FailureKind.CONFIG], "failed", EXIT_FAILED),  # mixed: the steps failed
    ([FailureKind.TASK], "failed", EXIT_FAILED),
    ([None], "failed", EXIT_FAILED),  # no kind recorded counts as a task failure
])
def test_the_kinds_of_the_failed_steps_choose_the_exit_code(kinds, status, code):
    recs = records(*((f"s{i}", "failed", k) for i, k in enumerate(kinds)), ("ok", "succeeded", None))
    got_status, got_code, error = verdict(recs, None, None, "r1")
    assert (got_status, got_code) == (status, code)
    assert error == {"kind": (kinds[0] or FailureKind.TASK).value, "message": "step `s0` failed: s0 broke"}


def test_a_node_failure_keeps_its_kind_and_a_bug_is_an_internal_infrastructure_error():
    assert classify(StepFailed(FailureKind.CANCELLED, "step `a` did not succeed")) == \
        (FailureKind.CANCELLED, "step `a` did not succeed")
    assert classify(ConfigurationError("no such agent type"))[0] is FailureKind.CONFIG
    kind, message = classify(ZeroDivisionError("division by zero"))
    assert kind is FailureKind.INFRASTRUCTURE and message == "internal error: ZeroDivisionError: division by zero"
