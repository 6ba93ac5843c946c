"""Running one step: render the task, run it on the step's agents, retry, aggregate, validate.

The executor calls ``execute`` and ``aggregate`` for the step's two nodes. Attempts go to
the journal as they start and end. A failed attempt is retried per the step's policy on the
same agent when it is still healthy, else on another agent that has the capabilities.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.agents.pricing import priced, rates_for
from runner.errors import AgentFailure, FailureKind, Interrupted, StepFailed, as_failure
from runner.execute.agents import AgentManager
from runner.execute.aggregate import Answer, aggregate
from runner.execute.decide import early_rule, weight
from runner.execute.login import LoginHandler
from runner.execute.records import AttemptRecord, StepRecord
from runner.execute.retry import delays, should_retry
from runner.observe import trace
from runner.plan.model import Plan, Selection
from runner.spec.models import MAX_ITEMS_LIMIT, Step
from runner.workspace.manager import Workspaces, captures

TaskFor = Callable[[dict[str, Any]], str]  # the `attempt` view -> the task text

_FEEDBACK_CHARS = 4000  # of a failed attempt's output, for the retry's `attempt.feedback`
_FIRST = {"number": 1, "feedback": ""}  # the `attempt` a first attempt's task sees
_LOSER_WAIT = 5.0  # s a cancelled race loser may take to return (so its attempt is on record)


class StepsView(Mapping[str, Any]):
    """``steps`` in templates: each step's view is built when a template reads it (not all, every time)."""

    def __init__(self, records: dict[str, StepRecord]) -> None:
        self._records = records

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        return self._records[step_id].template_view()

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


class StepRunner:
    def __init__(self, plan: Plan, manager: AgentManager, records: dict[str, StepRecord],
                 journal: Any, task_pool: ThreadPoolExecutor, stopping: threading.Event,
                 run_id: str, candidates: list[AgentInfo], concurrency: int = 64,
                 halted: threading.Event | None = None, workspaces: Workspaces | None = None,
                 on_usage: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.plan = plan
        self.on_usage = on_usage  # each answer's usage, for the budgets (the executor's)
        self.manager = manager
        self.records = records
        self.journal = journal
        self.task_pool = task_pool
        self.stopping = stopping  # the run is aborted (timeout, signal, end): nothing goes on
        self.halted = halted or stopping  # fail-fast: a step failed; only `runs: on-failure|always` steps go on
        self.run_id = run_id
        self.candidates = candidates
        self.concurrency = concurrency  # the task pool's size
        self._items: dict[str, list[Any]] = {}  # step id -> its forEach items, read when it is selected
        self.workspaces = workspaces
        self.spawn_failures: dict[str, AgentFailure] = {}  # agent id -> why its spawn node failed
        self.login = LoginHandler(manager)
        # Race losers are cancelled: the task each (step, item, slot) runs now, and the slots that lost.
        self._live: dict[tuple[str, int | None, int], tuple[AgentHandle, str]] = {}
        self._lost: dict[tuple[str, int | None, int], str] = {}
        self._race_lock = threading.Lock()
        # (step, item) -> slot -> the agent answering for it now (retries keep agents distinct)
        self._slots: dict[tuple[str, int | None], dict[int, str]] = {}
        self._early: dict[str, set[int]] = {}  # step id -> the items decided before all agents answered

    def stop(self, step: Step) -> threading.Event:
        """The event that ends ``step``'s retries: a step reacting to failures outlives fail-fast."""
        return self.halted if step.runs == "on-success" else self.stopping

    # ------------------------------------------------------------ context
    def context(self, **extra: Any) -> dict[str, Any]:
        return {"inputs": self.plan.inputs, "steps": StepsView(self.records), **extra}

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
        from runner.spec.templates import evaluate, step_site

        if step.when and not evaluate(step.when, self.context(), site=step_site(self.plan.pattern, step.id, "when"),
                                      stop=self.stopping):
            return False
        if step.for_each:
            self._items[step.id] = self._for_each(step)
        return True

    def _for_each(self, step: Step) -> list[Any]:
        from runner.spec.templates import evaluate, step_site

        value = evaluate(step.for_each or "", self.context(), site=step_site(self.plan.pattern, step.id, "forEach"),
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
            outcome = self._aggregate_once(step, rec)
            if outcome is None:
                if captures(step):
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
        """The step's chosen change (the aggregation's output, or its only change), landed if asked."""
        from runner.errors import WorkspaceError

        answers = [a for items in rec.answers for a in items]
        rec.change = next((a.change for a in answers if a.change is not None and a.change is rec.output), None)
        if rec.change is None and len(answers) == 1 and not step.for_each:
            rec.change = answers[0].change
        if step.land is None or self.workspaces is None:
            return
        if rec.change is None:
            raise StepFailed(FailureKind.LAND, f"step `{step.id}` chose no single change to land "
                              "(aggregation best-change or voting chooses one)")
        try:
            rec.landed = self.workspaces.land(step, rec.change, self._renderer(step))
        except WorkspaceError as exc:
            raise StepFailed(FailureKind.LAND, exc.render()) from exc
        self.journal.event("change_landed", step=step.id, agent=rec.change["agent"], **rec.landed)

    def _renderer(self, step: Step, **extra: Any) -> Callable[[str, str], str]:
        from runner.spec.templates import render, step_site

        def render_at(src: str, key: str) -> str:
            return render(src, self.context(**extra), site=step_site(self.plan.pattern, step.id, key),
                          stop=self.stopping)

        return render_at

    def _aggregate_once(self, step: Step, rec: StepRecord) -> str | None:
        """Aggregate every item; returns why validation failed, or None."""
        outputs, confidences, details = [], [], []
        for index, answers in enumerate(rec.answers):
            if not answers:
                raise _no_answer(step, rec, index if step.for_each else None)
            _check_quorum(step, rec, answers, index if step.for_each else None)
            agg = aggregate(step.aggregation, answers)
            details.append(agg)
            if not agg.ok:
                rec.aggregation = _agg_dict(step, agg, answers)
                return f"aggregation ({step.aggregation.type}) could not decide: {agg.reason}"
            outputs.append(agg.output)
            confidences.append(agg.confidence)
        rec.output = outputs if step.for_each else outputs[0]
        known = [c for c in confidences if c is not None]
        rec.confidence = (min(known) if known else None)
        rec.aggregation = _agg_dict(step, details[0], rec.answers[0]) if len(details) == 1 else {
            "type": step.aggregation.type, "method": step.aggregation.method,
            "items": [_agg_dict(step, d, a) for d, a in zip(details, rec.answers, strict=False)],
            "ok": True, "reason": "per item",
        }
        for pos in self._early.get(step.id, ()):
            (rec.aggregation if not step.for_each else rec.aggregation["items"][pos])["decidedEarly"] = True
        floor = step.validation.min_confidence
        if floor is not None and (rec.confidence is None or rec.confidence < floor):
            return f"confidence {rec.confidence} is below minConfidence {floor:g}"
        return None

    def _lanes(self, sel: Selection, count: int) -> list[tuple[AgentInfo, ...]]:
        """The groups of agents a forEach's items take turns on: the step's own agents, plus
        spare groups (``Selection.lanes``) while those take fewer tasks at once than the items
        could run (``count``, bounded by the run's concurrency). An agent not started yet
        counts as one task at once."""
        lanes = [tuple(sel.agents)]
        want = min(count, self.concurrency)
        capacity = self._capacity(sel.agents)
        for lane in sel.lanes:
            if capacity >= want:
                break
            lanes.append(lane)
            capacity += self._capacity(lane)
        return lanes

    def _capacity(self, agents: tuple[AgentInfo, ...]) -> int:
        handles = [self.manager.handle(a.id) for a in agents]
        return min((h.concurrency if h is not None else 1) for h in handles) if handles else 1

    def _units(self, step: Step, sel: Selection, items: list[Any],
               lanes: list[tuple[AgentInfo, ...]]) -> Iterator[tuple[int, Callable[[], Any]]]:
        """(item position, work) for every item: one chain of agents (sequential), else one
        task per agent; item i runs on lane i mod len(lanes). Each item's task is rendered when
        its work is first handed out."""
        from runner.spec.templates import step_site

        site = step_site(self.plan.pattern, step.id)  # errors point at the step's task in the file
        for pos, item in enumerate(items):
            index = pos if step.for_each else None
            agents = lanes[pos % len(lanes)]
            if step.strategy == "sequential":
                yield pos, functools.partial(self._chain, step, sel, agents, index, item, site)
                continue
            task = _task_for(step.task, self.context(item=item, index=index, previous=[]), site, self.stopping)
            task(_FIRST)  # a template error stops the step here, before its agents start
            for slot, info in enumerate(agents):
                yield pos, functools.partial(self._guarded, step, sel, info, slot, index, item, task)

    def _run_items(self, step: Step, sel: Selection, items: list[Any],
                   lanes: list[tuple[AgentInfo, ...]]) -> list[list[Answer]]:
        """Every item's answers. Items and their agents run at once on the task pool (bounded by
        the run's ``concurrency``; each agent's own limit is its lease); at most two units per
        task thread are queued, so a long ``forEach`` costs memory for its items only."""
        answers: list[list[Answer]] = [[] for _ in items]
        todo = self._units(step, sel, items, lanes)
        if len(items) == 1 and (step.strategy == "sequential" or len(sel.agents) == 1):
            # One unit: run it in this thread (a step alone in the DAG runs in the main thread,
            # which then gets a signal itself and records how the attempt ended).
            answers[0] = _as_list(next(todo)[1]())
            return answers
        running: dict[Future[Any], tuple[int, int]] = {}
        slots: dict[int, int] = {}  # item position -> units handed out so far (a unit's slot)
        decided: set[int] = set()  # race items that have their winner, votes decided early
        losers: list[Future[Any]] = []
        early = early_rule(step, [*sel.agents, *self.candidates])  # None: the step waits for every answer
        finished: dict[int, int] = {}  # item position -> its units that returned
        window = 2 * self.concurrency

        def fill() -> None:
            while len(running) < window:
                unit = next(todo, None)
                if unit is None:
                    return
                pos, work = unit
                slot = slots[pos] = slots.get(pos, -1) + 1
                if pos not in decided:
                    running[self.task_pool.submit(contextvars.copy_context().run, work)] = (pos, slot)

        fill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                pos, _slot = running.pop(f)
                got = _as_list(f.result())
                if pos in decided:
                    continue
                answers[pos] += got
                finished[pos] = finished.get(pos, 0) + 1
                if step.strategy == "race" and got:
                    # The first acceptable answer wins; the others are cancelled where their agent
                    # can cancel one task (else they finish unobserved and are stopped at cleanup).
                    decided.add(pos)
                    losers += self._stop_rest(step, pos, running, f"lost the race: {got[0].agent_id} answered first")
                elif early is not None and got and early(answers[pos], len(lanes[pos % len(lanes)]) - finished[pos]):
                    # The vote is won whatever the others answer: they are cancelled as race losers are.
                    decided.add(pos)
                    self._early[step.id].add(pos)
                    losers += self._stop_rest(step, pos, running, "decided early")
            fill()
        if losers:  # so each loser's attempt is on record before the step ends
            wait(losers, timeout=_LOSER_WAIT)
        replay = self.manager.ctx.replay
        if replay is not None:  # the recorded run's arrival order, not this run's thread timing
            for pos, got in enumerate(answers):
                index = pos if step.for_each else None
                got.sort(key=lambda a: replay.rank(step.id, index, a.agent_id))
        return answers

    def _chain(self, step: Step, sel: Selection, agents: tuple[AgentInfo, ...], index: int | None, item: Any,
               site: Any) -> list[Answer]:
        """``strategy: sequential``: one agent after another, each task rendered with ``previous``."""
        answers: list[Answer] = []
        for slot, info in enumerate(agents):
            previous = [{"agent": a.agent_id, "result": a.result, "confidence": a.confidence,
                         "reasoning": a.reasoning} for a in answers]
            task = _task_for(step.task, self.context(item=item, index=index, previous=previous), site, self.stopping)
            task(_FIRST)  # a template error stops the step here, before the agent starts
            answer = self._guarded(step, sel, info, slot, index, item, task)
            if answer is not None:
                answers.append(answer)
        return answers

    def _stop_rest(self, step: Step, pos: int, running: dict[Future[Any], tuple[int, int]], why: str) -> list[Future[Any]]:
        """Stop item ``pos``'s other units (taken out of ``running``); the futures of those cancelled."""
        rest = {fut: s for fut, (p, s) in running.items() if p == pos}
        cancelled = self._cancel_losers(step, pos if step.for_each else None, set(rest.values()), why)
        for fut in rest:
            del running[fut]
        return [fut for fut, s in rest.items() if s in cancelled]

    def _cancel_losers(self, step: Step, index: int | None, slots: set[int], why: str) -> set[int]:
        """Mark ``slots`` lost (no new attempt starts) and cancel their running tasks; the
        slots whose task was cancelled."""
        cancelled = set()
        for slot in slots:
            key = (step.id, index, slot)
            with self._race_lock:
                self._lost[key] = why
                live = self._live.get(key)
            if live is not None and live[0].cancel(live[1]):
                cancelled.add(slot)
        return cancelled

    def _guarded(self, step: Step, sel: Selection, info: AgentInfo, slot: int, index: int | None,
                 item: Any, task: TaskFor) -> Answer | None:
        """One agent's task with retries; None when it finally failed (recorded)."""
        try:
            return self._attempts(step, sel, info, slot, index, item, task)
        except AgentFailure:
            return None

    def _attempts(self, step: Step, sel: Selection, info: AgentInfo, slot: int, index: int | None,
                  item: Any, task_for: TaskFor) -> Answer:
        rec = self.records[step.id]
        backoff = delays(step.retry)
        tried = [info.id]
        attempt = 0
        self._answering(step, index, slot, info.id)
        feedback = ""
        while True:
            attempt += 1
            record = AttemptRecord(attempt=attempt, agent_id=info.id, item=index)
            rec.add_attempt(record)
            task = task_for({"number": attempt, "feedback": feedback})  # a retry's sees why the last failed
            # the task as sent (redacted by the journal): what the run report shows per step
            self.journal.event("attempt_started", step=step.id, attempt=attempt, agent=info.id, item=index,
                               task=task)
            try:
                with trace.span(trace.EXECUTE_TASK, step_id=step.id, agent_id=info.id, agent_type=info.type,
                                attempt=attempt) as span:
                    result = self._in_workspace(step, sel, info, slot, index, item, task, attempt, record)
                    answer = self._accept(step, info, result, record)
                    span.set(duration_ms=int((time.time() - record.started) * 1000))
                    if answer.confidence is not None:
                        span.set(confidence=answer.confidence)
                self._record(step, index, slot, task, info, record)
                return answer
            except (KeyboardInterrupt, Interrupted) as exc:
                # A task run in the main thread (a step alone in the DAG) gets the signal itself:
                # the journal still says how this attempt ended.
                why = exc.render() if isinstance(exc, Interrupted) else "interrupted by SIGINT"
                self._record_failure(step, record, AgentFailure(FailureKind.CANCELLED, why, agent_id=info.id))
                raise
            except Exception as exc:  # whatever an adapter raised: a documented kind, and on record
                failure = as_failure(exc, info.id)
                self._record_failure(step, record, failure)
                self._record(step, index, slot, task, info, record, failure)
                feedback = failure.output[-_FEEDBACK_CHARS:] if failure.kind is FailureKind.VERIFY else str(failure)
                retry_on = self.login.handle(info, failure) if failure.kind is FailureKind.LOGIN else None
                if retry_on is not None and not self.stop(step).is_set():  # pool's login policy: once more
                    info = retry_on
                    continue
                if self.stop(step).is_set() or not should_retry(step.retry, failure.kind, attempt):
                    raise failure from failure.__cause__  # its own cause (as_failure set it)
                if self.stop(step).wait(next(backoff)):
                    raise failure from failure.__cause__  # its own cause (as_failure set it)
                info = self._retry_agent(step, sel, info, slot, index, tried)

    def _record(self, step: Step, index: int | None, slot: int, task: str, info: AgentInfo,
                record: AttemptRecord, failure: AgentFailure | None = None) -> None:
        """``--record``: the exchange goes to the cassette (not a cancellation: it says nothing
        about the agent)."""
        recorder = self.manager.ctx.recorder
        if recorder is None or (failure is not None and failure.kind is FailureKind.CANCELLED):
            return
        from runner.replay.cassette import exchange

        recorder.record(exchange(step.id, index, slot, task, info, record, failure))

    def _in_workspace(self, step: Step, sel: Selection, info: AgentInfo, slot: int, index: int | None,
                      item: Any, task: str, attempt: int, record: AttemptRecord) -> TaskResult:
        """One attempt; in a workspace of its own when the step has one (captured and verified after)."""
        if not captures(step) or self.workspaces is None:
            return self._one(step, sel, info, slot, index, item, task, attempt)
        if self.manager.ctx.replay is None:  # a replayed change is applied by the cassette's agent
            _local_only(step, info, sel.runtimes.get(info.id))
        render = self._renderer(step, item=item, index=index)
        ws = self.workspaces.prepare(step, info.id, index, attempt, render)
        result = self._one(step, sel, info, slot, index, item, task, attempt, workspace=str(ws.cwd))
        runtime = self.manager.runtime_name(info.id)  # a docker agent's verify runs in its image
        sandbox = self.manager.runtime(runtime).verify_sandbox(info) if runtime else None
        record.change, record.diff, failure = self.workspaces.finish(
            step, ws, info.id, index, attempt, render, self.stopping, result.denied, sandbox)
        if failure is not None:
            raise failure
        return result

    def _one(self, step: Step, sel: Selection, info: AgentInfo, slot: int, index: int | None,
             item: Any, task: str, attempt: int, workspace: str | None = None) -> TaskResult:
        failed = self.spawn_failures.pop(info.id, None)
        if failed is not None:
            raise failed
        handle = self.manager.acquire(info, sel.runtimes.get(info.id))  # a LoginRequired: kind login
        data = dict(step.data)
        if item is not None or index is not None:
            data.update(item=item, index=index)
        request = TaskRequest(
            task_id=f"{self.run_id}/{step.id}/{'' if index is None else index}/{slot}/{attempt}",
            description=task, data=data, timeout=step.timeout, inactivity=step.inactivity, workspace=workspace,
        )
        opened: list[Any] = []  # the transcript file is opened on the agent's first output, if any

        def on_output(text: str) -> None:
            if not opened:
                opened.append(self.journal.transcript(info.id))
            opened[0].write(text)

        key = (step.id, index, slot)
        try:
            with self.manager.lease(handle):
                with self._race_lock:
                    lost = self._lost.get(key)
                    if lost is None:
                        self._live[key] = (handle, request.task_id)
                if lost is not None:
                    raise AgentFailure(FailureKind.CANCELLED, lost, agent_id=info.id)
                try:
                    return handle.execute(request, on_output)
                finally:
                    with self._race_lock:
                        self._live.pop(key, None)
        except AgentFailure as exc:
            lost = self._lost.get(key)
            if lost is not None and exc.kind is FailureKind.CANCELLED:
                raise AgentFailure(FailureKind.CANCELLED, lost, agent_id=info.id, output=exc.output) from exc
            fate = self.manager.fate(handle)  # stopped by the health monitor / limits, not the run
            if fate is None or exc.kind is not FailureKind.CANCELLED or self.stop(step).is_set():
                raise
            raise AgentFailure(fate[0], fate[1], agent_id=info.id, output=exc.output) from exc
        finally:
            if opened:
                opened[0].flush()  # the transcript holds a partial line back for redaction

    def _accept(self, step: Step, info: AgentInfo, result: TaskResult, record: AttemptRecord) -> Answer:
        confidence = result.confidence
        if confidence is None and info.definition is not None:
            confidence = info.definition.confidence
        record.finished = time.time()
        record.result, record.confidence, record.reasoning = result.result, confidence, result.reasoning
        model = info.definition.options.get("model") if info.definition is not None else None
        record.usage = priced(dict(result.usage), rates_for(self.plan.pool.pricing, (info.id, info.name),
                                                             str(model) if model else None))
        if self.on_usage is not None:
            self.on_usage(step.id, record.usage)
        floor = step.agents.min_confidence
        if floor is not None and confidence is not None and confidence < floor:
            record.status = "rejected"
            record.error_kind = FailureKind.VALIDATION
            record.error = f"confidence {confidence:g} below the step's agents.minConfidence {floor:g}"
            self._journal_attempt(step, record)
            raise AgentFailure(FailureKind.VALIDATION, record.error, agent_id=info.id)
        record.status = "ok"
        self._journal_attempt(step, record)
        return Answer(agent_id=info.id, result=result.result, confidence=confidence,
                      reasoning=result.reasoning, weight=weight(step, info), change=record.change)

    def _record_failure(self, step: Step, record: AttemptRecord, failure: AgentFailure) -> None:
        if record.status == "rejected":
            return
        record.finished = time.time()
        record.status = "cancelled" if failure.kind is FailureKind.CANCELLED else "failed"
        record.error_kind = failure.kind
        record.error = str(failure)
        self._journal_attempt(step, record)

    def _journal_attempt(self, step: Step, r: AttemptRecord) -> None:
        self.journal.event("attempt_finished", step=step.id, attempt=r.attempt, agent=r.agent_id, item=r.item,
                           status=r.status, result=r.result, confidence=r.confidence, reasoning=r.reasoning,
                           errorKind=r.error_kind, error=r.error, durationMs=int((r.finished or 0) * 1000 - r.started * 1000),
                           usage=r.usage)

    def _answering(self, step: Step, index: int | None, slot: int, agent_id: str) -> set[str]:
        """Record that ``agent_id`` answers for ``slot`` of the step's item ``index``; the agents
        answering for its other slots."""
        with self._race_lock:
            slots = self._slots.setdefault((step.id, index), {})
            slots[slot] = agent_id
            return {a for s, a in slots.items() if s != slot}

    def _retry_agent(self, step: Step, sel: Selection, info: AgentInfo, slot: int, index: int | None,
                     tried: list[str]) -> AgentInfo:
        """The same agent if it is still usable, else another one with the capabilities.

        Never an agent that answers for another slot of the same item: a step of N agents gets
        N distinct answers or fewer (one agent must not vote twice)."""
        handle = self.manager.handle(info.id)
        if self.manager.retired(info.id):
            pass  # out of the pool (unhealthy, no autoRestart): only another agent can help
        elif handle is None or handle.state in (AgentState.READY, AgentState.BUSY, AgentState.ERROR):
            if handle is None or handle.health().healthy:
                return info
        busy = self._answering(step, index, slot, info.id)
        in_step = {a.id for a in sel.agents}
        spare = [a for a in self.candidates
                 if a.has(step.agents.capabilities) and a.id not in tried and a.id not in busy]
        spare.sort(key=lambda a: (a.id in in_step, a.id))  # prefer agents this step does not use yet
        if spare:
            tried.append(spare[0].id)
            self._answering(step, index, slot, spare[0].id)
            return spare[0]
        return info


def _task_for(src: str, context: dict[str, Any], site: Any, stop: threading.Event) -> TaskFor:
    """The task of each attempt: rendered once, again for a retry (which sees ``attempt``);
    rendering ends when ``stop`` is set (the run is aborted)."""
    from runner.spec.templates import render

    first: list[str] = []

    def task_for(attempt: dict[str, Any]) -> str:
        if attempt["number"] == 1 and first:
            return first[0]
        text = render(src, {**context, "attempt": attempt}, site=site, stop=stop)
        if attempt["number"] == 1:
            first.append(text)
        return text

    return task_for


def _local_only(step: Step, info: AgentInfo, runtime: str | None) -> None:
    """Workspaces reach local and docker per-task agents (a working directory per task) for now."""
    d = info.definition
    why = None
    if info.endpoint is not None:
        why = "a remote agent (workspaces reach local and docker agents only, for now)"
    elif d is None:
        why = "an agent handed in from Python (it has no working directory runner can set)"
    elif d.mode == "long-lived":
        why = "a long-lived agent (its session has one working directory: use mode per-task)"
    elif (runtime or d.runtime or "local") not in ("local", "docker"):
        why = f"an agent of runtime `{runtime or d.runtime}` (workspaces reach local and docker agents only, for now)"
    if why is not None:
        raise AgentFailure(FailureKind.CONFIG, f"step `{step.id}` has a workspace, but {info.id} is {why}",
                           agent_id=info.id)


def _no_answer(step: Step, rec: StepRecord, item: int | None) -> StepFailed:
    failed = [a for a in rec.attempts if a.item == item and a.status in ("failed", "rejected", "cancelled")]
    if not failed:
        return StepFailed(FailureKind.TASK, f"step `{step.id}` got no answer")
    last = failed[-1]
    where = f" for item {item}" if item is not None else ""
    return StepFailed(last.error_kind or FailureKind.TASK,
                       f"step `{step.id}` got no answer{where} after {len(failed)} failed attempt(s); "
                       f"last: {last.error}")


def _check_quorum(step: Step, rec: StepRecord, answers: list[Answer], item: int | None) -> None:
    """A vote or consensus counts distinct agents: it needs ``agents.min`` of them, else it
    fails (the answers of fewer agents than the step asked for decide nothing)."""
    if step.aggregation.type not in ("voting", "consensus") or step.strategy == "race":
        return
    agents = sorted({a.agent_id for a in answers})
    if len(agents) >= step.agents.min:
        return
    failed = [a for a in rec.attempts if a.item == item and a.status in ("failed", "rejected", "cancelled")]
    where = f" for item {item}" if item is not None else ""
    last = f"; last failure: {failed[-1].error}" if failed else ""
    kind = (failed[-1].error_kind if failed else None) or FailureKind.TASK
    raise StepFailed(kind, f"step `{step.id}` needs answers from {step.agents.min} distinct agents for "
                           f"{step.aggregation.type}{where}, got {len(agents)} ({', '.join(agents)}){last}")


def _as_list(got: Answer | list[Answer] | None) -> list[Answer]:
    if got is None:
        return []
    return got if isinstance(got, list) else [got]


def _agg_dict(step: Step, agg: Any, answers: list[Answer]) -> dict[str, Any]:
    # weights: each answering agent's say (its expertise), so a report can show why the winner won
    return {"type": step.aggregation.type, "method": step.aggregation.method, "votes": dict(agg.votes),
            "weights": {a.agent_id: a.weight for a in answers},
            "agreement": agg.agreement, "ok": agg.ok, "reason": agg.reason}
