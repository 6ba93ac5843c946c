"""Walk a plan's DAG: schedule ready nodes, record outcomes, always clean up.

Cheap nodes (select, aggregate) run inline in the scheduling thread; spawn and execute
nodes run on a node pool and hand agent tasks to a task pool bounded by the pattern's
``concurrency``. A failed step stops scheduling (fail-fast) but lets running nodes finish;
steps that depend on a failed step are cancelled. Ctrl-C / SIGTERM (raised in the main
thread while it waits) and the whole-run timeout stop every agent, which makes running
tasks return at once. The cleanup node runs in every case.

This module is the loop and its bookkeeping (fail-fast, the run's timeout and budgets, the
events, the cleanup); what each node does is ``nodes``, the run's status and exit code
``verdict``.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.lifecycle import AgentEvent
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import Detached, FailureKind, Interrupted, StepFailed
from runner.execute import calls
from runner.execute.agents import AgentManager
from runner.execute.budget import Breach, Spending
from runner.execute.nodes import Nodes
from runner.execute.records import StepRecord
from runner.execute.shutdown import Shutdown
from runner.execute.steps import StepRunner
from runner.execute.verdict import classify, verdict
from runner.observe import trace
from runner.plan.model import Plan
from runner.workspace.manager import Workspaces, captures

DEFAULT_CONCURRENCY = 64
_BUDGET = "\0budget"  # not a node id: the loop's wake-up when a budget is reached

EventHook = Callable[[str, dict[str, Any]], None]
log = logging.getLogger("runner.execute")


class Executor:
    def __init__(self, plan: Plan, ctx: RunContext, journal: Any, *, candidates: list[AgentInfo],
                 provided: Sequence[AgentHandle] = (), concurrency: int | None = None,
                 on_event: EventHook | None = None) -> None:
        self.plan = plan
        self.ctx = ctx
        self.journal = journal
        self.on_event = on_event
        self.concurrency = concurrency or plan.pattern.concurrency or DEFAULT_CONCURRENCY
        self.records = {s.id: StepRecord(id=s.id, uses=s.uses) for s in plan.pattern.steps}
        self.manager = AgentManager(ctx, plan.pool, provided)
        self.stopping = threading.Event()  # aborted (timeout, signal) or over: nothing new starts
        self.halted = threading.Event()  # fail-fast: only steps with `runs: on-failure|always` start
        self.error: tuple[FailureKind, str] | None = None  # (kind, message) of what stopped the run
        self.interrupted: Interrupted | None = None
        self.cleanup_problems: list[str] = []
        self._cleaned = False
        self._candidates = candidates
        self._unsubscribe = ctx.bus.subscribe(self._agent_event)
        self.workspaces = _workspaces(plan, ctx)
        self.spending = Spending(plan.pattern)
        self.breach: Breach | None = None  # the budget that stopped the run
        self.nodes = Nodes(plan, ctx, journal, self.records, self._emit, spending=self.spending,
                           workspaces=self.workspaces, stopping=self.stopping, cleanup=self.cleanup,
                           budget_failure=self._budget_failure)
        self._done: queue.SimpleQueue[tuple[str, BaseException | None]] = queue.SimpleQueue()

    # ------------------------------------------------------------ events
    def _emit(self, event: str, /, **fields: Any) -> None:
        # positional-only: an agent event carries a field called `name` of its own
        self.journal.event(event, **fields)
        if log.isEnabledFor(logging.INFO):
            log.info(event, extra={k: v for k, v in fields.items() if k in _LOGGED})
        if self.on_event is not None:
            self.on_event(event, fields)

    def _agent_event(self, event: AgentEvent) -> None:
        if event.name == "state_changed":
            return
        if event.name == "metrics_sampled":  # the health monitor's periodic sample
            self._emit("agent_metrics", agent=event.agent_id, runtime=self.manager.runtime_name(event.agent_id),
                       sampled=True, **event.data)
            return
        self._emit("agent_event", agent=event.agent_id, name=event.name, state=event.state.value,
                   previous=event.previous.value if event.previous else None, detail=event.detail)

    # ------------------------------------------------------------ the loop
    def run(self) -> None:
        """Execute the plan; records outcomes in ``self.records``; raises only ``Interrupted``."""
        pattern = self.plan.pattern
        graph = self.plan.graph
        waiting = {n: graph.in_degree(n) for n in self.plan.order}
        rank = {n: i for i, n in enumerate(self.plan.order)}
        ready = sorted((n for n, d in waiting.items() if d == 0), key=rank.__getitem__)
        done = self._done
        deadline = time.monotonic() + pattern.timeout if pattern.timeout else None
        task_pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="task")
        node_pool = ThreadPoolExecutor(max_workers=max(4, len(pattern.steps)), thread_name_prefix="node")
        steps = StepRunner(self.plan, self.manager, self.records, self.journal, task_pool, self.stopping,
                           self.ctx.run_id, self._candidates, concurrency=self.concurrency, halted=self.halted,
                           workspaces=self.workspaces, on_usage=self._charge if self.spending.active else None)
        running = 0
        try:
            while ready or running:
                if self.stopping.is_set():  # aborted: started steps finish, new ones don't start
                    ready = [n for n in ready if self._step_running(n)]
                while ready:
                    node_id = ready.pop(0)
                    if self.halted.is_set() and not self._goes_on(node_id):
                        if self.stopping.is_set():
                            continue
                        # fail-fast: the step never starts, but the steps after it may react to that
                        self._not_started(node_id)
                        self._release(node_id, waiting, ready, rank)
                        continue
                    if not self._should_run(node_id):
                        self._release(node_id, waiting, ready, rank)
                        continue
                    kind = self.plan.node(node_id).kind
                    # Cheap nodes run here; so does a node nothing else could run beside (a chain):
                    # a thread hand-off costs more than the whole step's bookkeeping.
                    alone = not running and not ready and deadline is None and not self.spending.active
                    if kind in ("select", "aggregate", "cleanup") or alone:
                        self._finish(node_id, self.nodes.run(steps, node_id), waiting, ready, rank)
                    else:
                        running += 1
                        # a copy of the context per node: spans and log fields follow into the thread
                        node_pool.submit(contextvars.copy_context().run,
                                         lambda n=node_id: done.put((n, self.nodes.run(steps, n))))
                if not running:
                    break
                try:
                    ends = [t for t in (deadline, self.spending.deadline(self._running_steps())) if t is not None]
                    timeout = max(0.0, min(ends) - time.monotonic()) if ends else None
                    node_id, error = done.get(timeout=timeout)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        self._stop_run(FailureKind.TIMEOUT, f"the run exceeded its timeout of {pattern.timeout:g}s")
                    elif (breach := self.spending.expired(self._running_steps())) is not None:
                        self._over_budget(breach)
                    continue
                if node_id == _BUDGET:  # an answer made a total reach its budget (see _charge)
                    if self.breach is not None:
                        self._over_budget(self.breach)
                    continue
                running -= 1
                self._finish(node_id, error, waiting, ready, rank)
        except (KeyboardInterrupt, Interrupted) as exc:
            self.interrupted = exc if isinstance(exc, Interrupted) else Interrupted("SIGINT")
            self._abort()
            with Shutdown(self.manager, self.ctx.drain_timeout, self._emit) as shutdown:  # 2nd signal forces
                shutdown.drain(done, running, lambda n, e: self._finish(n, e, waiting, [], rank))
                self._stop_run(FailureKind.CANCELLED, str(self.interrupted), force=shutdown.forced.is_set())
                self.cleanup()
        finally:
            self._abort()
            self.cleanup()
            task_pool.shutdown(wait=False, cancel_futures=True)
            node_pool.shutdown(wait=False, cancel_futures=True)
            self._unsubscribe()
            detached = any(r.waiting is not None for r in self.records.values())
            for rec in self.records.values():
                if rec.status in ("running", "waiting") and rec.waiting is None:
                    rec.status = "cancelled"
                elif rec.status == "pending" and not detached:  # detached: they run on --resume
                    rec.status = "cancelled"
                self._end_open_attempts(rec)
        if self.interrupted is not None:
            raise self.interrupted

    def _end_open_attempts(self, rec: StepRecord) -> None:
        """An attempt still going when the run ends (a race loser that cannot drop its task, a
        task cut short) ends ``cancelled`` on record: no attempt of a finished run is ``running``."""
        with rec.lock:
            open_ = [a for a in rec.attempts if a.status == "running"]
        for a in open_:
            a.finished = time.time()
            a.status, a.error_kind, a.error = "cancelled", FailureKind.CANCELLED, "the run ended before this attempt"
            self.journal.event("attempt_finished", step=rec.id, attempt=a.attempt, agent=a.agent_id, item=a.item,
                               status=a.status, errorKind=a.error_kind.value, error=a.error,
                               durationMs=int((a.finished - a.started) * 1000))

    def _running_steps(self) -> list[str]:
        return [s for s, r in self.records.items() if r.status == "running"]

    def _charge(self, step: str, used: dict[str, Any]) -> None:
        """An answer's usage (a task thread): a reached budget wakes the loop to stop the run."""
        breach = self.spending.charge(step, used)
        if breach is not None and self.breach is None:
            self.breach = breach
            self._done.put((_BUDGET, None))

    def _over_budget(self, breach: Breach) -> None:
        """Stop scheduling and cancel what runs, as the run's timeout does; the step is failed
        with kind ``budget`` when its node returns (``_finish``)."""
        if self.breach is None:
            self.breach = breach
        self._emit("budget_reached", step=breach.step, budget=breach.what, limit=breach.limit, spent=breach.spent,
                   owner=breach.owner)
        self._stop_run(FailureKind.BUDGET, breach.message())

    def _budget_failure(self, step: str) -> None:
        if self.breach is not None and self.breach.step == step:
            raise StepFailed(FailureKind.BUDGET, self.breach.message())

    def _stop_run(self, kind: FailureKind, message: str, force: bool = False) -> None:
        if self.error is None:
            self.error = (kind, message)
        self._abort()
        self.cleanup_problems += self.manager.stop_all(force=force, include_provided=True)  # makes running tasks return

    def _abort(self) -> None:
        self.halted.set()
        self.stopping.set()

    def _goes_on(self, node_id: str) -> bool:
        """Whether a node starts after fail-fast: those of running steps, and the selection of a
        step that reacts to failures (``runs: on-failure|always``)."""
        node = self.plan.node(node_id)
        if self._step_running(node_id):
            return True
        if node.kind != "select" or node.step is None:
            return False
        if self.records[node.step].status != "pending":
            return False
        step = self.plan.pattern.step(node.step)
        # a called step goes on inside a call that reacts to failures and runs (runner.execute.calls)
        return step.runs != "on-success" or calls.reacting(self.plan.pattern, self.records, step)

    def _not_started(self, node_id: str) -> None:
        step = self.plan.node(node_id).step
        if step is not None and self.records[step].status == "pending":
            self.records[step].status = "cancelled"

    def _step_running(self, node_id: str) -> bool:
        step = self.plan.node(node_id).step
        return step is not None and self.records[step].status == "running" and not self.interrupted

    def _should_run(self, node_id: str) -> bool:
        node = self.plan.node(node_id)
        if node.kind == "cleanup" or node.step is None:
            return True
        rec = self.records[node.step]
        return rec.status not in ("failed", "skipped", "cancelled") and rec.reused_from is None

    def _release(self, node_id: str, waiting: dict[str, int], ready: list[str], rank: dict[str, int]) -> None:
        for succ in self.plan.graph.successors(node_id):
            waiting[succ] -= 1
            if waiting[succ] == 0:
                ready.append(succ)
        ready.sort(key=rank.__getitem__)

    def _finish(self, node_id: str, error: BaseException | None, waiting: dict[str, int],
                ready: list[str], rank: dict[str, int]) -> None:
        if error is not None:
            if isinstance(error, KeyboardInterrupt | Interrupted):
                raise error
            node = self.plan.node(node_id)
            if isinstance(error, Detached) and node.step is not None:
                # --detach-on-approval: the step waits; what does not need it goes on, then the run exits
                gated = self.records[node.step]
                gated.status, gated.waiting, gated.deadline = "waiting", str(error), error.deadline
                return
            rec = self.records.get(node.step or "")
            kind, message = classify(error)
            if rec is not None and self.breach is not None and self.breach.step == rec.id:
                kind, message = FailureKind.BUDGET, self.breach.message()  # its tasks were cancelled for it
            if rec is not None:
                rec.status = "cancelled" if kind is FailureKind.CANCELLED else "failed"
                rec.finished = time.time()
                rec.error_kind, rec.error = kind, message
                self._emit("step_finished", step=rec.id, status=rec.status, errorKind=kind.value, error=message,
                           aggregation=rec.aggregation)
            if kind is not FailureKind.CANCELLED and self.plan.pattern.fail_fast:
                self.halted.set()
                if self.error is None:
                    self.error = (kind, f"step `{rec.id if rec else node_id}` failed: {message}")
        self._release(node_id, waiting, ready, rank)

    # ------------------------------------------------------------ cleanup & outcome
    def cleanup(self) -> None:
        """Stop every agent the run started; runs once, whatever happened."""
        if self._cleaned:
            return
        self._cleaned = True

        started = sorted(self.manager.started())
        with trace.span(trace.CLEANUP_AGENTS, agent_count=len(started)):
            self._emit("cleanup_started", agents=started)
            self.cleanup_problems += self.manager.stop_all()
            for agent_id, metrics in sorted(self.manager.metrics.items()):
                self._emit("agent_metrics", agent=agent_id, runtime=self.manager.runtime_name(agent_id),
                           **metrics)
        if self.workspaces is not None:
            self.cleanup_problems += self.workspaces.cleanup()
        for problem in self.cleanup_problems:
            self._emit("cleanup_problem", problem=problem)

    def outcome(self) -> tuple[str, int, dict[str, str] | None]:
        """(status, exit code, error) of the run, from the steps' records."""
        return verdict(self.records, self.error, self.interrupted, self.ctx.run_id)


_LOGGED = frozenset({"step", "agent", "attempt", "status", "errorKind", "error", "confidence", "name",
                     "state", "detail", "reason", "problem", "agents"})


def _workspaces(plan: Plan, ctx: RunContext) -> Any:
    """The run's workspaces when a step works in them."""
    if not any(captures(s) for s in plan.pattern.steps):
        return None
    return Workspaces(ctx.run_dir, ctx.run_id, ctx.workdir, ctx.state_dir, keep=ctx.keep_workspaces,
                      force=ctx.force)

