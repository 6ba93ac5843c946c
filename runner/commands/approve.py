"""``runner approve RUN_ID STEP [--deny] [--comment TEXT]``: decide an approval gate of a run
that waits (from any shell on the machine: the decision is a file in the run's journal folder)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TextIO

import click

from runner.errors import SpecError, UsageError
from runner.execute.approval import decision_path, write_decision
from runner.journal import find_run
from runner.journal.gates import decision, waiting_gates
from runner.spec import load_pattern


def approve(run_id: str, step_id: str, deny: bool, comment: str, state_dir: Path, out: TextIO) -> int:
    run = find_run(state_dir, run_id)
    steps = [s.get("id") for s in (run.run.get("plan") or {}).get("steps", [])]
    if step_id not in steps:
        raise UsageError(f"run {run.run_id} has no step {step_id!r} (its steps: {', '.join(map(str, steps))})")
    if run.status not in ("running", "waiting"):  # waiting: it exited there (--detach-on-approval)
        raise UsageError(f"run {run.run_id} is {run.status}, not waiting for a decision")
    if run.status == "waiting" and _step_status(run.result, step_id) != "waiting":
        raise UsageError(f"step {step_id} of run {run.run_id} is not waiting for a decision")
    if decision_path(run.dir, step_id).exists():  # (in time: a late one is refused below, never written)
        raise UsageError(f"step {step_id} of run {run.run_id} is already decided")
    decided = decision(run, step_id)
    gate = next((g for g in waiting_gates(run) if g.step == step_id), None)
    if gate is not None and gate.expired() or decided is not None and decided.get("by") == "timeout":
        deadline = gate.deadline if gate is not None else decided.get("deadline") if decided else None
        raise UsageError(f"step {step_id} of run {run.run_id} timed out at {deadline or '?'} with no decision: "
                         "too late to decide (it counts as denied"
                         + (f"; `runner apply --resume {run.run_id}` fails it)" if run.status == "waiting" else ")"))
    if decided is not None:
        raise UsageError(f"step {step_id} of run {run.run_id} is already decided")
    user = getpass.getuser()
    approvers = _approvers(run.run.get("patternSource"), step_id)
    if approvers and user not in approvers:
        raise UsageError(f"{user} may not decide step {step_id}: its approvers are {', '.join(approvers)}")
    write_decision(run.dir, step_id, not deny, comment, user)
    click.echo(f"step {step_id} of run {run.run_id}: {'denied' if deny else 'approved'} by {user}", file=out)
    if run.status == "waiting":
        click.echo(f"the run exited while it waited: continue it with `runner apply --resume {run.run_id}`", file=out)
    return 0


def _step_status(result: dict | None, step_id: str) -> str | None:
    return next((s.get("status") for s in (result or {}).get("steps") or [] if s.get("id") == step_id), None)


def _approvers(source: str | None, step_id: str) -> tuple[str, ...]:
    """The step's ``approval.approvers`` from the run's pattern file (none when it cannot be read)."""
    if not source:
        return ()
    try:
        step = load_pattern(source).step(step_id)
    except (SpecError, KeyError, ValueError):
        return ()
    return step.approval.approvers if step is not None and step.approval is not None else ()


@click.command("approve")
@click.argument("run_id")
@click.argument("step")
@click.option("--deny", is_flag=True, help="Deny instead of approve (the step fails with kind `denied`).")
@click.option("--comment", default="", help="Why (recorded in the journal).")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where run journals are.")
def command(run_id: str, step: str, deny: bool, comment: str, state_dir: Path) -> int:
    """Approve (or --deny) STEP of run RUN_ID, which waits at its approval gate."""
    return approve(run_id, step, deny, comment, state_dir, sys.stdout)
