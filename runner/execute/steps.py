"""Running one step: render the task, run it on the step's agents, retry, aggregate, validate.

The executor calls ``execute`` and ``aggregate`` for the step's two nodes. Attempts go to
the journal as they start and end. A failed attempt is retried per the step's policy on the
same agent when it is still healthy, else on another agent that has the capabilities.

The work has one module per concern: ``stepbase`` (the shared state and the templates'
context), ``attempts`` (one agent's task with its retries), ``fanout`` (a step's items on its
agents: lanes, races, votes decided early), ``outcome`` (aggregation, quorum, confidence floor);
this module holds the nodes the executor calls.
"""

from __future__ import annotations

import contextvars
from typing import Any

from runner.errors import AgentFailure, FailureKind, StepFailed, WorkspaceError
from runner.execute.fanout import FanOut
from runner.execute.outcome import aggregate_items
from runner.execute.pick import picked_change, picks
from runner.execute.records import StepRecord
from runner.resume.landing import states_around
from runner.spec.models import MAX_ITEMS_LIMIT, Step
from runner.spec.templates import evaluate, step_site
from runner.workspace.manager import captures


class StepRunner(FanOut):
    """A step's nodes: ``spawn`` its agents, ``wanted`` (its ``when``; a forEach's items),
    ``execute`` its tasks, ``aggregate`` their answers (and land the chosen change)."""

    # ------------------------------------------------------------ nodes
    def spawn(self, step: Step) -> None:
        if self._items.get(step.id) == []:  # an empty forEach needs no agent
            return
        sel = self.plan.selections[step.id]
        infos = [a for a in sel.agents if a.id in sel.spawn]
        futures = [self.task_pool.submit(contextvars.copy_context().run, self.manager.acquire, a, sel.runtimes.get(a.id))
                   for a in infos]
        for info, f in zip(infos, futures, strict=True):
            try:
                f.result()
            except AgentFailure as failure:
                # The first task attempt on this agent reports this failure (recorded, retried per
                # the policy) instead of starting the agent a second time: a prompt that never
                # shows would otherwise cost two start timeouts.
                self.spawn_failures[info.id] = failure

    def wanted(self, step: Step) -> bool:
        """Whether the step runs: its ``when`` (if any) is true; a forEach's items are read here
        too. Asked before any agent is started, so a skipped step, or a forEach whose list is
        too long or empty, starts none."""
        if step.when and not evaluate(step.when, self.context(step), site=step_site(self.plan.pattern, step.id, "when"),
                                      stop=self.stopping):
            return False
        if step.for_each:
            self._items[step.id] = self._for_each(step)
        return True

    def _for_each(self, step: Step) -> list[Any]:
        value = evaluate(step.for_each or "", self.context(step), site=step_site(self.plan.pattern, step.id, "forEach"),
                         stop=self.stopping)
        if not isinstance(value, list | tuple):
            raise StepFailed(FailureKind.TASK, f"forEach of step `{step.id}` gave {type(value).__name__}, expected a list")
        if len(value) > step.max_items:
            raise StepFailed(FailureKind.CONFIG, f"forEach of step `{step.id}` gave {len(value)} items, more than "
                             f"its maxItems ({step.max_items}): raise `maxItems` (at most {MAX_ITEMS_LIMIT}) "
                             "or split the work")
        return list(value)

    def execute(self, step: Step) -> None:
        """Run the step's tasks (its ``when`` was true: see ``wanted``)."""
        rec = self.records[step.id]
        items: list[Any] = [None]
        if step.for_each:
            found = self._items.get(step.id)
            items = self._for_each(step) if found is None else found
        sel = self.plan.selections[step.id]
        lanes = self._lanes(sel, len(items))
        rec.agents = [a.id for lane in lanes for a in lane]
        self._early[step.id] = set()
        rec.answers = self._run_items(step, sel, items, lanes)

    def aggregate(self, step: Step) -> None:
        rec = self.records[step.id]
        for retry in range(step.retry.limit + 1):
            outcome = aggregate_items(step, rec, self._early.get(step.id, set()), self._escalated.get(step.id))
            if outcome is None:
                if captures(step) or picks(step):
                    self._choose_and_land(step, rec)
                return
            if step.validation.on_failure == "fallback":
                rec.output, rec.confidence = step.validation.fallback, None
                rec.aggregation = {**(rec.aggregation or {}), "fallback": True, "reason": outcome}
                return
            if step.validation.on_failure != "retry" or retry == step.retry.limit or self.stop(step).is_set():
                raise StepFailed(FailureKind.VALIDATION, outcome)
            self.journal.event("step_retried", step=step.id, reason=outcome)
            self.execute(step)

    # ------------------------------------------------------------ internals
    def _choose_and_land(self, step: Step, rec: StepRecord) -> None:
        """The step's chosen change (the aggregation's output, or its only change), or the one its
        ``land`` names by agent id (``runner.execute.pick``), landed if asked."""
        answers = [a for items in rec.answers for a in items]
        if captures(step):
            rec.change = next((a.change for a in answers if a.change is not None and a.change is rec.output), None)
            if rec.change is None and len(answers) == 1 and not step.for_each:
                rec.change = answers[0].change
        if step.land is None or self.workspaces is None:
            return
        if picks(step):
            rec.change = picked_change(step, rec, self.records, self._renderer(step))
        if rec.change is None:
            raise StepFailed(FailureKind.LAND, f"step `{step.id}` chose no single change to land "
                              "(aggregation best-change or voting chooses one)")
        try:
            rec.landed = self.workspaces.land(step, rec.change, self._renderer(step), source=step.land.source)
        except WorkspaceError as exc:
            raise StepFailed(FailureKind.LAND, exc.render()) from exc
        self.journal.event("change_landed", step=step.id, agent=rec.change["agent"], **rec.landed)
        if rec.landed.get("mode") == "apply":  # the tree it started from changed: say how (resume)
            try:
                rec.landed_over = states_around(self.workspaces, step.land.source or step.id)
            except WorkspaceError:
                rec.landed_over = None  # not known: a resume runs the step again
