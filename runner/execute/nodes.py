"""What each node of the plan does when the executor's loop runs it.

A step has four nodes: ``select`` (the step starts: it reacts to the steps it needs, its
``when``, an earlier success it may reuse, a human's approval, the call it enters), ``spawn``
(its agents start), ``execute`` (its tasks run) and ``aggregate`` (its answers decide, and its
success is recorded with its fingerprint). The run's one ``cleanup`` node stops every agent.

    nodes = Nodes(plan, ctx, journal, records, emit, spending=..., workspaces=..., stopping=...,
                  cleanup=executor.cleanup, budget_failure=executor.budget_failure)
    error = nodes.run(steps, "select:lint")  # None, or what failed the node (for the loop to record)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from runner.context import RunContext
from runner.errors import FailureKind, StepFailed
from runner.execute import calls
from runner.execute.budget import Spending
from runner.execute.records import StepRecord
from runner.execute.steps import StepRunner
from runner.journal.jsonable import epoch
from runner.observe import trace
from runner.plan.model import Plan
from runner.resume.fingerprint import StepPrints, workspace_base
from runner.resume.landing import bases, landing_holds
from runner.spec.models import Step

Emit = Callable[..., None]  # emit(event, **fields): the journal, the log, the caller's view


class Nodes:
    """The work of each kind of node; ``run`` returns what failed the node instead of raising."""

    def __init__(self, plan: Plan, ctx: RunContext, journal: Any, records: dict[str, StepRecord], emit: Emit, *,
                 spending: Spending, workspaces: Any, stopping: threading.Event, cleanup: Callable[[], None],
                 budget_failure: Callable[[str], None]) -> None:
        self.plan = plan
        self.ctx = ctx
        self.journal = journal
        self.records = records
        self.emit = emit
        self.spending = spending
        self.workspaces = workspaces
        self.stopping = stopping
        self.cleanup = cleanup
        self.budget_failure = budget_failure  # raises StepFailed(budget) when the step's budget was reached
        self.prints = StepPrints(plan.pattern, plan.inputs)
        self.reuser = _reuser(plan, ctx)

    def run(self, steps: StepRunner, node_id: str) -> BaseException | None:
        node = self.plan.node(node_id)
        try:
            if node.kind == "cleanup":
                self.cleanup()
                return None
            step = self.plan.pattern.step(node.step or "")
            rec = self.records[step.id]
            if node.kind == "select":
                self._select(steps, step, rec)
            elif node.kind == "spawn":
                steps.spawn(step)
            elif node.kind == "execute":
                steps.execute(step)
                self.budget_failure(step.id)
            elif node.kind == "aggregate":
                self._aggregate(steps, step, rec)
            return None
        except BaseException as exc:  # noqa: BLE001 - recorded on the step, decided by the loop
            return exc

    def _select(self, steps: StepRunner, step: Step, rec: StepRecord) -> None:
        rec.status, rec.started = "running", time.time()
        self.spending.step_began(step.id)
        agents = [a.id for a in self.plan.selections[step.id].agents]
        with trace.span(trace.SELECT_AGENTS, step_id=step.id, agent_count=len(agents),
                        capabilities=list(step.agents.capabilities)):
            self.emit("step_started", step=step.id, agents=agents,
                      **({"uses": step.uses} if step.uses is not None else {}))
            skip = self._reaction(step)
        if skip is None and not steps.wanted(step):  # before its agents start
            skip = f"when: {step.when}"
        if skip is None and self._reused(step, rec, steps):
            return
        if skip is None and step.approval is not None:  # a human decides before agents start
            from runner.execute.approval import await_approval  # lazy: cold start (approval steps)

            rec.status = "waiting"
            await_approval(step, self.ctx.run_id, self.ctx.run_dir, self.ctx.environ, self.journal,
                           self.stopping, detach=self.ctx.detach_on_approval,
                           deadline=self._carried_deadline(step.id))
            rec.status = "running"
        if skip is not None:  # the step's later nodes are passed over
            rec.status, rec.finished = "skipped", time.time()
            self.emit("step_skipped", step=step.id, reason=skip)
            if step.uses is not None:  # and so are the steps of the pattern it calls
                for inner in calls.inside(self.records, step):
                    inner.status, inner.finished = "skipped", rec.finished
                    self.emit("step_skipped", step=inner.id, reason=f"call `{step.id}` was skipped")
        elif step.uses is not None:
            calls.enter(steps, step)

    def _aggregate(self, steps: StepRunner, step: Step, rec: StepRecord) -> None:
        self.budget_failure(step.id)
        if step.uses is not None:
            calls.leave(steps, step)
        else:
            steps.aggregate(step)
        rec.fingerprint = self._fingerprint(step, self._base(step, steps), [v for _, v in sorted(
            steps.task_shas.get(step.id, {}).items())])
        rec.status, rec.finished = "succeeded", time.time()
        self.emit("step_finished", step=step.id, status="succeeded", output=rec.output,
                  confidence=rec.confidence, aggregation=rec.aggregation, fingerprint=rec.fingerprint,
                  **_landing(rec))

    def _base(self, step: Step, steps: StepRunner) -> str | None:
        """The state of the step's workspace source its checkouts start from (None: no workspace)."""
        return workspace_base(step, self.workspaces, steps.renderer(step)) if step.workspace else None

    def _fingerprint(self, step: Step, base: str | None, task_shas: list[str]) -> str:
        """The step's fingerprint (``runner.resume.fingerprint``) as this run sees it now."""
        needs = []
        for pred in self.plan.graph.predecessors(f"select:{step.id}"):
            dep = self.plan.node(pred).step
            if dep and dep != step.id:
                r = self.records[dep]
                needs.append((dep, r.fingerprint, r.status, r.output))
        return self.prints.of(step, self.plan.selections[step.id].agents, base, needs, task_shas)

    def _reused(self, step: Step, rec: StepRecord, steps: StepRunner) -> bool:
        """``--resume`` / ``cache: true``: the step takes an earlier success of the same
        fingerprint instead of running (its later nodes are passed over). A source the earlier
        run's ``land: apply`` changed is also tried as it was before (``runner.resume.landing``)."""
        if self.reuser is None or not self.reuser.wants(step) or step.uses is not None:
            return False  # a call is never reused itself: its steps are, each by its own fingerprint
        from runner.resume.reuse import first_task_shas, restore  # lazy: cold start (only --resume)

        shas = first_task_shas(steps, step, steps.items(step))
        landings = self.reuser.landings
        for base in bases(self._base(step, steps), landings):
            fingerprint = self._fingerprint(step, base, shas)
            done = self.reuser.find(step, fingerprint)
            if done is not None and landing_holds(done.record, self._landing_source_state(step, steps), landings):
                break
        else:
            return False
        restore(rec, done, fingerprint)
        # Its attempts stay in the journal of the run it ran in (reusedFrom): resuming this run reads them there.
        self.emit("step_finished", step=step.id, status="succeeded", output=rec.output, confidence=rec.confidence,
                  aggregation=rec.aggregation, fingerprint=fingerprint, reusedFrom=done.origin, **_landing(rec))
        return True

    def _landing_source_state(self, step: Step, steps: StepRunner) -> str | None:
        """The state now of the source the step's ``land`` lands in (its own, or its ``from`` step's)."""
        if step.land is None:
            return None
        return self._base(self.plan.pattern.step(step.land.source) if step.land.source else step, steps)

    def _carried_deadline(self, step_id: str) -> float | None:
        """``--resume`` of a run that waited at this gate: the deadline it waited with (the
        timeout counts from when the step first waited, not from this run's start)."""
        earlier = self.ctx.resume
        if earlier is None or earlier.statuses.get(step_id) != "waiting":
            return None
        return epoch(earlier.deadlines.get(step_id))

    def _reaction(self, step: Step) -> str | None:
        """Apply ``runs`` to the outcome of the steps ``step`` needs: raises (cancelled) when it
        runs on success and one failed; why it is skipped, or None when it runs."""
        failed = [dep for pred in self.plan.graph.predecessors(f"select:{step.id}")
                  if (dep := self.plan.node(pred).step) and self.records[dep].status in ("failed", "cancelled")]
        if step.runs == "on-success" and failed:
            raise StepFailed(FailureKind.CANCELLED, f"step `{failed[0]}` did not succeed")
        if step.runs == "on-failure" and not failed:
            return "runs: on-failure, and every step it needs succeeded"
        return None


def _landing(rec: StepRecord) -> dict[str, Any]:
    """What ``step_finished`` says of a step's chosen change and its landing."""
    if rec.change is None:
        return {}
    return {"change": rec.change, "landed": rec.landed, **({"landedOver": rec.landed_over} if rec.landed_over else {})}


def _reuser(plan: Plan, ctx: RunContext) -> Any:
    """What finds earlier successes: with ``--resume``, or when a step has ``cache: true``."""
    if ctx.resume is None and not any(s.cache for s in plan.pattern.steps):
        return None
    from runner.resume.reuse import Reuser  # lazy: cold start (only --resume)

    return Reuser(ctx.resume, ctx.state_dir, ctx.run_id)
