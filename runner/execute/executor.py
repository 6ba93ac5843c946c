"""Walk a plan's DAG: schedule ready nodes, record outcomes, always clean up.

Cheap nodes (select, aggregate) run inline in the scheduling thread; spawn and execute
nodes run on a node pool and hand agent tasks to a task pool bounded by the pattern's
``concurrency``. A failed step stops scheduling (fail-fast) but lets running nodes finish;
steps that depend on a failed step are cancelled. Ctrl-C / SIGTERM (raised in the main
thread while it waits) and the whole-run timeout stop every agent, which makes running
tasks return at once. The cleanup node runs in every case.
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
from runner.errors import (
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_WAITING,
    Detached,
    FailureKind,
    Interrupted,
    RunnerError,
    StepFailed,
    as_failure,
)
from runner.execute import calls
from runner.execute.agents import AgentManager
from runner.execute.budget import Breach, Spending
from runner.execute.records import StepRecord
from runner.execute.shutdown import Shutdown
from runner.execute.steps import StepRunner
from runner.journal.jsonable import epoch
from runner.observe import trace
from runner.plan.model import Plan
from runner.resume.fingerprint import StepPrints, workspace_base
from runner.spec.models import Step
from runner.workspace.manager import Workspaces, captures

DEFAULT_CONCURRENCY = 64
INFRA_KINDS = frozenset({FailureKind.INFRASTRUCTURE, FailureKind.LOGIN})  # exit 3 when all failures are these
CONFIG_KINDS = frozenset({FailureKind.CONFIG})  # exit 2
_BUDGET = "\0budget"  # not a node id: the loop's wake-up when a budget is reached
INTERRUPTED = "interrupted"  # the run's error kind after SIGINT/SIGTERM (a run's, not an attempt's)

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

        self.prints = StepPrints(plan.pattern, plan.inputs)
        self.reuser = _reuser(plan, ctx)
        self.breach: Breach | None = None  # the budget that stopped the run
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
                        self._finish(node_id, self._call(steps, node_id), waiting, ready, rank)
                    else:
                        running += 1
                        # a copy of the context per node: spans and log fields follow into the thread
                        node_pool.submit(contextvars.copy_context().run,
                                         lambda n=node_id: done.put((n, self._call(steps, n))))
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

    def _call(self, steps: StepRunner, node_id: str) -> BaseException | None:
        node = self.plan.node(node_id)
        try:
            if node.kind == "cleanup":
                self.cleanup()
                return None
            step = self.plan.pattern.step(node.step or "")
            rec = self.records[step.id]
            if node.kind == "select":
                rec.status, rec.started = "running", time.time()
                self.spending.step_began(step.id)
                agents = [a.id for a in self.plan.selections[step.id].agents]
                with trace.span(trace.SELECT_AGENTS, step_id=step.id, agent_count=len(agents),
                                capabilities=list(step.agents.capabilities)):
                    self._emit("step_started", step=step.id, agents=agents,
                               **({"uses": step.uses} if step.uses is not None else {}))
                    skip = self._reaction(step)
                if skip is None and not steps.wanted(step):  # before its agents start
                    skip = f"when: {step.when}"
                if skip is None and self._reused(step, rec, steps):
                    return None
                if skip is None and step.approval is not None:  # a human decides before agents start
                    from runner.execute.approval import await_approval  # lazy: cold start (approval steps)

                    rec.status = "waiting"
                    await_approval(step, self.ctx.run_id, self.ctx.run_dir, self.ctx.environ, self.journal,
                                   self.stopping, detach=self.ctx.detach_on_approval,
                                   deadline=self._carried_deadline(step.id))
                    rec.status = "running"
                if skip is not None:  # the step's later nodes are passed over
                    rec.status, rec.finished = "skipped", time.time()
                    self._emit("step_skipped", step=step.id, reason=skip)
                    if step.uses is not None:  # and so are the steps of the pattern it calls
                        for inner in calls.inside(self.records, step):
                            inner.status, inner.finished = "skipped", rec.finished
                            self._emit("step_skipped", step=inner.id, reason=f"call `{step.id}` was skipped")
                elif step.uses is not None:
                    calls.enter(steps, step)
            elif node.kind == "spawn":
                steps.spawn(step)
            elif node.kind == "execute":
                steps.execute(step)
                self._budget_failure(step.id)
            elif node.kind == "aggregate":
                self._budget_failure(step.id)
                if step.uses is not None:
                    calls.leave(steps, step)
                else:
                    steps.aggregate(step)
                rec.fingerprint = self._fingerprint(step, steps, [v for _, v in sorted(
                    steps.task_shas.get(step.id, {}).items())])
                rec.status, rec.finished = "succeeded", time.time()
                extra = {"change": rec.change, "landed": rec.landed} if rec.change is not None else {}
                self._emit("step_finished", step=step.id, status="succeeded", output=rec.output,
                           confidence=rec.confidence, aggregation=rec.aggregation, fingerprint=rec.fingerprint,
                           **extra)
            return None
        except BaseException as exc:  # noqa: BLE001 - recorded on the step, decided by _finish
            return exc

    def _fingerprint(self, step: Step, steps: StepRunner, task_shas: list[str]) -> str:
        """The step's fingerprint (``runner.resume.fingerprint``) as this run sees it now."""
        needs = []
        for pred in self.plan.graph.predecessors(f"select:{step.id}"):
            dep = self.plan.node(pred).step
            if dep and dep != step.id:
                r = self.records[dep]
                needs.append((dep, r.fingerprint, r.status, r.output))
        base = workspace_base(step, self.workspaces, steps.renderer(step)) if step.workspace else None
        return self.prints.of(step, self.plan.selections[step.id].agents, base, needs, task_shas)

    def _reused(self, step: Step, rec: StepRecord, steps: StepRunner) -> bool:
        """``--resume`` / ``cache: true``: the step takes an earlier success of the same
        fingerprint instead of running (its later nodes are passed over)."""
        if self.reuser is None or not self.reuser.wants(step) or step.uses is not None:
            return False  # a call is never reused itself: its steps are, each by its own fingerprint
        from runner.resume.reuse import first_task_shas, restore  # lazy: cold start (only --resume)

        fingerprint = self._fingerprint(step, steps, first_task_shas(steps, step, steps.items(step)))
        done = self.reuser.find(step, fingerprint)
        if done is None:
            return False
        restore(rec, done, fingerprint)
        # Its attempts stay in the journal of the run it ran in (reusedFrom): resuming this run reads them there.
        extra = {"change": rec.change, "landed": rec.landed} if rec.change is not None else {}
        self._emit("step_finished", step=step.id, status="succeeded", output=rec.output, confidence=rec.confidence,
                   aggregation=rec.aggregation, fingerprint=fingerprint, reusedFrom=done.origin, **extra)
        return True

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
            kind, message = _classify(error)
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
        if self.interrupted is not None:
            return "interrupted", self.interrupted.exit_code, {"kind": INTERRUPTED, "message": str(self.interrupted)}
        failed = [r for r in self.records.values() if r.status == "failed"]
        if self.error and self.error[0] in (FailureKind.TIMEOUT, FailureKind.BUDGET):
            return "failed", EXIT_FAILED, {"kind": self.error[0].value, "message": self.error[1]}
        waiting = [r for r in self.records.values() if r.status == "waiting"]
        if not failed and waiting:
            hint = f"runner approve {self.ctx.run_id} {waiting[0].id}, then runner apply --resume {self.ctx.run_id}"
            return "waiting", EXIT_WAITING, {"kind": "waiting", "message": f"step `{waiting[0].id}` waits for "
                                             f"approval ({waiting[0].waiting}): {hint}"}
        if not failed:
            return "succeeded", EXIT_OK, None
        kinds = {r.error_kind or FailureKind.TASK for r in failed}
        first = failed[0]
        error = {"kind": (first.error_kind or FailureKind.TASK).value, "message": f"step `{first.id}` failed: {first.error}"}
        if kinds <= CONFIG_KINDS:
            return "error", EXIT_INVALID, error
        if kinds <= INFRA_KINDS:
            return "error", EXIT_INFRA, error
        return "failed", EXIT_FAILED, error


_LOGGED = frozenset({"step", "agent", "attempt", "status", "errorKind", "error", "confidence", "name",
                     "state", "detail", "reason", "problem", "agents"})


def _reuser(plan: Plan, ctx: RunContext) -> Any:
    """What finds earlier successes: with ``--resume``, or when a step has ``cache: true``."""
    if ctx.resume is None and not any(s.cache for s in plan.pattern.steps):
        return None
    from runner.resume.reuse import Reuser  # lazy: cold start (only --resume)

    return Reuser(ctx.resume, ctx.state_dir, ctx.run_id)


def _workspaces(plan: Plan, ctx: RunContext) -> Any:
    """The run's workspaces when a step works in them."""
    if not any(captures(s) for s in plan.pattern.steps):
        return None
    return Workspaces(ctx.run_dir, ctx.run_id, ctx.workdir, ctx.state_dir, keep=ctx.keep_workspaces,
                      force=ctx.force)


def _classify(error: BaseException) -> tuple[FailureKind, str]:
    """The kind and message a failed node records on its step (see ``runner.errors.as_failure``)."""
    if not isinstance(error, RunnerError):  # a bug: the traceback for its report
        log.debug("unexpected error in a node", exc_info=error)
    failure = as_failure(error)
    return failure.kind, str(failure)
