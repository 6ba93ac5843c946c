"""A run's verdict: what a failed node records on its step, and the run's status, exit code and
error from its steps' records (README "Exit codes").

    kind, message = classify(exc)                        # a node's failure, as its step records it
    status, code, error = verdict(records, error, interrupted, run_id)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from runner.errors import (
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_WAITING,
    FailureKind,
    Interrupted,
    RunnerError,
    as_failure,
)
from runner.execute.records import StepRecord

INFRA_KINDS = frozenset({FailureKind.INFRASTRUCTURE, FailureKind.LOGIN})  # exit 3 when all failures are these
CONFIG_KINDS = frozenset({FailureKind.CONFIG})  # exit 2
RUN_KINDS = frozenset({FailureKind.TIMEOUT, FailureKind.BUDGET})  # what stops a whole run: its own error
INTERRUPTED = "interrupted"  # the run's error kind after SIGINT/SIGTERM (a run's, not an attempt's)

log = logging.getLogger("runner.execute")


def classify(error: BaseException) -> tuple[FailureKind, str]:
    """The kind and message a failed node records on its step (see ``runner.errors.as_failure``)."""
    if not isinstance(error, RunnerError):  # a bug: the traceback for its report
        log.debug("unexpected error in a node", exc_info=error)
    failure = as_failure(error)
    return failure.kind, str(failure)


def verdict(records: Mapping[str, StepRecord], error: tuple[FailureKind, str] | None,
            interrupted: Interrupted | None, run_id: str) -> tuple[str, int, dict[str, str] | None]:
    """(status, exit code, error) of a run: ``error`` is what stopped it (kind, message), if anything."""
    if interrupted is not None:
        return "interrupted", interrupted.exit_code, {"kind": INTERRUPTED, "message": str(interrupted)}
    failed = [r for r in records.values() if r.status == "failed"]
    if error and error[0] in RUN_KINDS:
        return "failed", EXIT_FAILED, {"kind": error[0].value, "message": error[1]}
    waiting = [r for r in records.values() if r.status == "waiting"]
    if not failed and waiting:
        hint = f"runner approve {run_id} {waiting[0].id}, then runner apply --resume {run_id}"
        return "waiting", EXIT_WAITING, {"kind": "waiting", "message": f"step `{waiting[0].id}` waits for "
                                         f"approval ({waiting[0].waiting}): {hint}"}
    if not failed:
        return "succeeded", EXIT_OK, None
    kinds = {r.error_kind or FailureKind.TASK for r in failed}
    first = failed[0]
    first_error = {"kind": (first.error_kind or FailureKind.TASK).value,
                   "message": f"step `{first.id}` failed: {first.error}"}
    if kinds <= CONFIG_KINDS:
        return "error", EXIT_INVALID, first_error
    if kinds <= INFRA_KINDS:
        return "error", EXIT_INFRA, first_error
    return "failed", EXIT_FAILED, first_error
