"""Approval gates: a step with ``approval:`` waits for a human before it runs.

The waiting run says so (journal event ``step_waiting``, step state ``waiting``, a line on
stderr with the run id, a line in ``$GITHUB_STEP_SUMMARY``) and polls for a decision file,
``<run dir>/approvals/<step>.json``, that ``runner approve`` writes from any shell on the
machine. ``RUNNER_APPROVE=STEP,...`` approves ahead (CI); no decision within the timeout
is a denial (failure kind ``denied``).

The timeout is absolute: the wait's deadline (``deadline`` of ``step_waiting``, an ISO time)
is fixed when the step first waits, and a ``--resume`` of a run that waited there keeps it
(the runner may have exited meanwhile: ``--detach-on-approval``). A resume after the deadline
with no decision denies the step at once; ``runner approve`` refuses to decide after it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from runner.errors import Detached, FailureKind, StepFailed
from runner.execute.records import iso
from runner.spec.models import Step

POLL = 0.2  # s between looks for the decision file


def decision_path(run_dir: Path, step_id: str) -> Path:
    return run_dir / "approvals" / f"{step_id}.json"


def write_decision(run_dir: Path, step_id: str, approve: bool, comment: str, by: str) -> Path:
    """Atomically (the waiting run never reads half a file)."""
    path = decision_path(run_dir, step_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"decision": "approve" if approve else "deny", "comment": comment, "by": by,
                               "at": time.time()}) + "\n")
    tmp.replace(path)
    return path


def carry_decisions(earlier_dir: Path, waiting: list[str], run_dir: Path) -> list[str]:
    """``--resume`` of a run that waited (``--detach-on-approval``): the decisions made for its
    waiting steps hold for the resumed run (copied into its journal folder). A step that was
    decided and ran in the earlier run is asked again when it runs again. Returns the steps."""
    carried = []
    for step_id in waiting:
        src = decision_path(earlier_dir, step_id)
        if src.exists():
            dst = decision_path(run_dir, step_id)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
            carried.append(step_id)
    return carried


def timed_out(step_id: str, timeout: float, deadline: float) -> str:
    """The message of a gate whose deadline passed with no decision (one wording everywhere)."""
    return f"step `{step_id}`: no approval within {timeout:g}s (timed out at {iso(deadline)})"


def await_approval(step: Step, run_id: str, run_dir: Path, environ: Any, journal: Any,
                   stopping: threading.Event, detach: bool = False, deadline: float | None = None) -> None:
    """Return when the step is approved; raise ``StepFailed(DENIED)`` when denied or timed out,
    ``StepFailed(CANCELLED)`` when the run stops meanwhile, ``Detached`` when ``detach`` and no
    decision is there yet (the run exits; ``--resume`` comes back here). ``deadline`` (epoch
    seconds): the one the run being resumed waited with; None: the wait starts now."""
    gate = step.approval
    assert gate is not None
    ahead = {s.strip() for s in (environ.get("RUNNER_APPROVE") or "").split(",") if s.strip()}
    if step.id in ahead or "*" in ahead:
        journal.event("step_approved", step=step.id, by="RUNNER_APPROVE", comment="")
        return
    path = decision_path(run_dir, step.id)
    if path.exists():  # decided already (for the run this one resumes: carried over)
        _decided(step, path, journal)
        return
    if deadline is None:
        deadline = time.time() + gate.timeout
    elif time.time() >= deadline:  # it waited in the run being resumed, and nobody decided in time
        journal.event("step_denied", step=step.id, by="timeout", comment="", deadline=iso(deadline))
        raise StepFailed(FailureKind.DENIED, timed_out(step.id, gate.timeout, deadline))
    message = gate.message or f"approve step {step.id}?"
    journal.event("step_waiting", step=step.id, message=message, timeout=gate.timeout, deadline=iso(deadline),
                  approvers=list(gate.approvers), detached=detach)
    hint = f"runner approve {run_id} {step.id} [--deny] [--comment TEXT]"
    then = f", then: runner apply --resume {run_id}" if detach else ""
    print(f"waiting for approval of step {step.id} (run {run_id}): {message}\n"
          f"  decide by {iso(deadline)} with: {hint}{then}", file=sys.stderr, flush=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a") as f:
                f.write(f"- ⏸ step `{step.id}` of run `{run_id}` waits for approval until {iso(deadline)}: "
                        f"{message} (`{hint}`)\n")
        except OSError:
            pass
    if detach:
        raise Detached(message, deadline=deadline)
    ends = time.monotonic() + (deadline - time.time())  # the wall-clock deadline, waited on steadily
    while not path.exists():
        if time.monotonic() >= ends:
            journal.event("step_denied", step=step.id, by="timeout", comment="", deadline=iso(deadline))
            raise StepFailed(FailureKind.DENIED, timed_out(step.id, gate.timeout, deadline))
        if stopping.wait(POLL):
            raise StepFailed(FailureKind.CANCELLED, f"step `{step.id}`: the run stopped while it waited for approval")
    _decided(step, path, journal)


def _decided(step: Step, path: Path, journal: Any) -> None:
    """Journal the decision in ``path``; raise ``StepFailed(DENIED)`` when it is a denial."""
    try:
        decision = json.loads(path.read_text())
    except (OSError, ValueError):
        decision = {"decision": "deny", "comment": f"unreadable decision file {path}", "by": "?"}
    by, comment = decision.get("by", "?"), decision.get("comment") or ""
    if decision.get("decision") == "approve":
        journal.event("step_approved", step=step.id, by=by, comment=comment)
        return
    journal.event("step_denied", step=step.id, by=by, comment=comment)
    raise StepFailed(FailureKind.DENIED, f"step `{step.id}` was denied by {by}" + (f": {comment}" if comment else ""))
