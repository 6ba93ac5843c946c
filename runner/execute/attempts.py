"""One agent's task on one item of a step: attempts recorded as they start and end, retried
per the step's policy on the same agent while it is healthy, else on another agent that has
the capabilities; in a workspace of its own when the step has one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.agents.pricing import priced, rates_for
from runner.errors import AgentFailure, FailureKind, Interrupted, as_failure
from runner.execute.aggregate import Answer
from runner.execute.decide import weight
from runner.execute.records import AttemptRecord
from runner.execute.retry import delays, should_retry
from runner.execute.stepbase import StepBase
from runner.observe import trace
from runner.plan.model import Selection
from runner.replay.cassette import exchange
from runner.spec.models import Step
from runner.workspace.manager import captures

TaskFor = Callable[[dict[str, Any]], str]  # the `attempt` view -> the task text

_FEEDBACK_CHARS = 4000  # of a failed attempt's output, for the retry's `attempt.feedback`


class Attempts(StepBase):
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


def _local_only(step: Step, info: AgentInfo, runtime: str | None) -> None:
    """Workspaces reach agents that work in a checkout per task: local and docker per-task agents
    (a working directory), remote and kubernetes agents (the checkout is sent through the agent
    protocol, its change sent back: runner.protocol.sending)."""
    d = info.definition
    why = None
    if info.endpoint is not None:
        return  # a long-lived one is refused by its server (config)
    if d is None:
        why = "an agent handed in from Python (it has no working directory runner can set)"
    elif d.mode == "long-lived":
        why = "a long-lived agent (its session has one working directory: use mode per-task)"
    elif (runtime or d.runtime or "local") not in ("local", "docker", "kubernetes"):
        why = f"an agent of runtime `{runtime or d.runtime}` (workspaces reach local, docker, kubernetes and remote agents)"
    if why is not None:
        raise AgentFailure(FailureKind.CONFIG, f"step `{step.id}` has a workspace, but {info.id} is {why}",
                           agent_id=info.id)
