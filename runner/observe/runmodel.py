"""One model of a run, folded from its journal events: what the live view and the HTML report show.

``RunModel.apply(event)`` folds one journal event (``{"time", "event", ...fields}``, the
names and fields ``runner.execute`` writes) into steps, attempts and agents; unknown events
and fields are ignored. The live view feeds it events as the executor writes them; the run
report builds it with ``load_model(run_dir)`` on the journal's reader (``runner.journal``):
``run.json`` (the plan's step graph), ``events.jsonl`` (a torn last line skipped) and
``result.json`` when the run ended::

    model = load_model(run_dir)
    model.status, [s.status for s in model.steps.values()], model.cost_usd
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.agents.usage import FIELDS
from runner.agents.usage import tokens as tokens_of
from runner.journal import load_run, read_events
from runner.journal.jsonable import epoch
from runner.journal.layout import STEP_FINAL

#: fields of step and attempt events (and results) a report shows when present (workspaces)
EXTRA_KEYS = ("verify", "diff", "changes", "change", "landed", "workspace")
#: keys of a usage record that hold a cost in US dollars (claude reports ``total_cost_usd``)
COST_KEYS = ("total_cost_usd", "cost_usd", "costUsd", "cost")


def usage_cost(usage: Any) -> tuple[int, float | None]:
    """(tokens, cost in USD or None) of one attempt's ``usage`` record: the normalised fields
    (``runner.agents.usage``: input + output tokens), or, in a journal older than them, whatever
    its agent type reported."""
    if isinstance(usage, dict) and set(usage) & set(FIELDS):
        cost = usage.get("cost_usd")
        return tokens_of(usage), float(cost) if isinstance(cost, int | float) else None
    tokens, cost = 0, None
    stack = [usage]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if k in COST_KEYS and isinstance(v, int | float) and not isinstance(v, bool):
                    cost = (cost or 0.0) + float(v)
                elif k.endswith("tokens") and isinstance(v, int) and not isinstance(v, bool):
                    tokens += v
                elif isinstance(v, dict | list):
                    stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
    return tokens, cost


@dataclass(kw_only=True)
class Attempt:
    """One try of one agent at one step (one bar of the timeline)."""

    step: str
    agent: str
    attempt: int
    item: int | None = None
    started: float | None = None
    finished: float | None = None
    status: str = "running"  # running | ok | failed | cancelled | rejected
    task: str | None = None
    result: Any = None
    confidence: float | None = None
    reasoning: str = ""
    error_kind: str | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # verify / diff / changes, when journaled

    @property
    def tokens(self) -> int:
        return usage_cost(self.usage)[0]

    @property
    def cost_usd(self) -> float | None:
        return usage_cost(self.usage)[1]


@dataclass(kw_only=True)
class Step:
    id: str
    needs: list[str] = field(default_factory=list)
    group: str | None = None  # the nested pattern the step came from
    uses: str | None = None  # a call: the pattern it runs (its steps are GROUP/ID)
    strategy: str | None = None
    status: str = "pending"  # pending | running | waiting | succeeded | failed | skipped | cancelled
    agents: list[str] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None
    output: Any = None
    confidence: float | None = None
    aggregation: dict[str, Any] | None = None
    error_kind: str | None = None
    error: str | None = None
    retries: list[str] = field(default_factory=list)  # why validation sent the step back
    waiting: str | None = None  # status waiting: the approval gate's message
    reused_from: str | None = None  # the run whose success this step reused (--resume, cache: true)
    attempts: list[Attempt] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Of ``attempts``, counted as RunModel adds and ends them (the live table reads them four
    # times a second: a scan of every attempt each time grew with the run): running, ended, the
    # highest attempt number, the sum of their costs (None: none has one).
    busy: int = 0
    done: int = 0
    attempt: int = 0
    cost_usd: float | None = None

    @property
    def task(self) -> str | None:
        return next((a.task for a in self.attempts if a.task is not None), None)

    @property
    def tokens(self) -> int:
        return sum(a.tokens for a in self.attempts)


@dataclass(kw_only=True)
class Agent:
    id: str
    runtime: str | None = None
    type: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[float | None, str, str]] = field(default_factory=list)  # (time, name, detail)


class RunModel:
    """A run as steps, attempts and agents; thread-safe ``apply`` (events come from many threads)."""

    def __init__(self, run_id: str = "", run_dir: Path | None = None) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.pattern = ""
        self.pool = ""
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.status = "running"  # running | succeeded | failed | error | interrupted | unfinished | killed
        self.exit_code: int | None = None
        self.error: dict[str, Any] | None = None
        self.started: float | None = None
        self.finished: float | None = None
        self.steps: dict[str, Step] = {}
        self.agents: dict[str, Agent] = {}
        self.problems: list[str] = []  # cleanup problems, failed outputs
        self.has_plan = False
        self.lock = threading.Lock()
        self._open: dict[tuple[str, str, int, Any], Attempt] = {}  # attempts started, not finished

    # ------------------------------------------------------------ building
    def set_plan(self, plan: Any) -> None:
        """Steps and their dependencies from ``run.json``'s ``plan`` (see ``step_graph``)."""
        steps = plan.get("steps") if isinstance(plan, dict) else None
        if not isinstance(steps, list):
            return
        for s in steps:
            if isinstance(s, dict) and isinstance(s.get("id"), str):
                step = self.step(s["id"])
                step.needs = [str(n) for n in s.get("needs") or [] if isinstance(n, str)]
                step.group = s.get("group") if isinstance(s.get("group"), str) else None
                step.strategy = s.get("strategy") if isinstance(s.get("strategy"), str) else None
                step.agents = step.agents or [str(a) for a in s.get("agents") or []]
        self.has_plan = True

    def step(self, step_id: str) -> Step:
        found = self.steps.get(step_id)
        if found is None:
            found = self.steps[step_id] = Step(id=step_id)
        return found

    def agent(self, agent_id: str) -> Agent:
        found = self.agents.get(agent_id)
        if found is None:
            found = self.agents[agent_id] = Agent(id=agent_id)
        return found

    def apply(self, event: dict[str, Any]) -> Step | None:
        """Fold one journal event in; returns the step it changed, if any."""
        with self.lock:
            return self._apply(event)

    def _apply(self, e: dict[str, Any]) -> Step | None:
        name, when = e.get("event"), epoch(e.get("time"))
        step_id = e.get("step")
        if name == "run_started":
            self.run_id = str(e.get("runId") or self.run_id)
            self.pattern, self.pool = str(e.get("pattern") or ""), str(e.get("pool") or "")
            inputs_ = e.get("inputs")
            self.inputs = inputs_ if isinstance(inputs_, dict) else {}
            self.started = when
        elif name == "run_finished":
            self.status, self.finished = str(e.get("status") or "finished"), when
            self.exit_code = e.get("exitCode") if isinstance(e.get("exitCode"), int) else None
        elif name in ("agent_metrics", "agent_event") and isinstance(e.get("agent"), str):
            agent = self.agent(e["agent"])
            if name == "agent_metrics":
                agent.runtime = e.get("runtime") or agent.runtime
                agent.metrics = {k: v for k, v in e.items() if k not in ("time", "event", "agent", "runtime")}
            else:
                agent.events.append((when, str(e.get("name")), str(e.get("detail") or "")))
        elif name == "cleanup_problem":
            self.problems.append(str(e.get("problem")))
        elif name == "output_failed":
            self.problems.append(f"output {e.get('output')}: {e.get('error')}")
        if not isinstance(step_id, str):
            return None
        step = self.step(step_id)
        if name == "step_started":
            step.status, step.started = "running", when
            if isinstance(e.get("agents"), list):
                step.agents = [str(a) for a in e["agents"]]
            if isinstance(e.get("uses"), str):
                step.uses = e["uses"]
        elif name in ("step_finished", "step_skipped"):
            step.status = "skipped" if name == "step_skipped" else str(e.get("status") or "finished")
            step.finished = when
            step.output, step.confidence = e.get("output"), _number(e.get("confidence"))
            if isinstance(e.get("aggregation"), dict):
                step.aggregation = e["aggregation"]
            step.error_kind = e.get("errorKind")
            step.error = e.get("error") or (e.get("reason") if name == "step_skipped" else None)
            step.extra.update({k: e[k] for k in EXTRA_KEYS if k in e})
            if isinstance(e.get("reusedFrom"), str):
                step.reused_from = e["reusedFrom"]
        elif name == "step_retried":
            step.retries.append(str(e.get("reason") or ""))
        elif name == "step_waiting":
            step.status, step.waiting = "waiting", str(e.get("message") or "")
        elif name in ("step_approved", "step_denied") and step.status == "waiting":
            step.status, step.waiting = "running", None
        elif name == "attempt_started":
            agent_id = str(e.get("agent"))
            self.agent(agent_id)
            a = Attempt(step=step_id, agent=agent_id, attempt=_int(e.get("attempt")), item=_item(e.get("item")),
                        started=when, task=e.get("task") if isinstance(e.get("task"), str) else None)
            _add(step, a)
            self._open[(step_id, agent_id, a.attempt, a.item)] = a
        elif name == "attempt_finished":
            a = self._attempt(step, str(e.get("agent")), _int(e.get("attempt")), _item(e.get("item")))
            a.finished = when
            if a.started is None and when is not None and isinstance(e.get("durationMs"), int | float):
                a.started = when - e["durationMs"] / 1000
            _count(step, a, -1)
            a.status = str(e.get("status") or "failed")
            a.result, a.confidence = e.get("result"), _number(e.get("confidence"))
            a.reasoning = str(e.get("reasoning") or "")
            a.error_kind, a.error = e.get("errorKind"), e.get("error")
            usage_ = e.get("usage")
            a.usage = usage_ if isinstance(usage_, dict) else {}
            a.extra.update({k: e[k] for k in EXTRA_KEYS if k in e})
            _count(step, a, +1)
        return step

    def _attempt(self, step: Step, agent: str, attempt: int, item: int | None) -> Attempt:
        a = self._open.pop((step.id, agent, attempt, item), None)
        if a is not None:
            return a
        a = Attempt(step=step.id, agent=agent, attempt=attempt, item=item)  # its start was not journaled
        _add(step, a)
        return a

    def finish(self, result: dict[str, Any] | None) -> None:
        """What only ``result.json`` knows: outputs, the run's error, agents' types."""
        if not isinstance(result, dict):
            return
        self.status = str(result.get("status") or self.status)
        self.exit_code = result.get("exitCode") if isinstance(result.get("exitCode"), int) else self.exit_code
        self.error = result.get("error") if isinstance(result.get("error"), dict) else None
        outputs_ = result.get("outputs")
        self.outputs = outputs_ if isinstance(outputs_, dict) else {}
        self.started = epoch(result.get("startedAt")) or self.started
        self.finished = epoch(result.get("finishedAt")) or self.finished
        for s in result.get("steps") or []:
            if isinstance(s, dict) and isinstance(s.get("id"), str):
                step = self.step(s["id"])
                if step.status not in STEP_FINAL:  # cancelled without an event (the run stopped first)
                    step.status = str(s.get("status") or step.status)
                if isinstance(s.get("waiting"), dict) and step.status == "waiting":
                    step.waiting = str(s["waiting"].get("message") or "")
                if isinstance(s.get("reusedFrom"), str):
                    step.reused_from = s["reusedFrom"]
                if isinstance(s.get("error"), dict) and not step.error:
                    step.error_kind, step.error = s["error"].get("kind"), s["error"].get("message")
                step.extra.update({k: s[k] for k in EXTRA_KEYS if s.get(k) is not None and k not in step.extra})
                self._attempt_extras(step, s.get("attempts"))
        for a in result.get("agents") or []:
            if isinstance(a, dict) and isinstance(a.get("id"), str):
                agent = self.agent(a["id"])
                agent.type, agent.runtime = a.get("type"), a.get("runtime") or agent.runtime

    @staticmethod
    def _attempt_extras(step: Step, attempts: Any) -> None:
        """A result's per-attempt records (a workspace's ``change``) onto the journaled attempts."""
        index: dict[Any, Attempt] | None = None  # (agent, attempt, item) -> the first such attempt
        for r in attempts if isinstance(attempts, list) else []:
            extra = {k: r[k] for k in EXTRA_KEYS if isinstance(r, dict) and r.get(k) is not None}
            if not extra:
                continue
            if index is None:  # once: a scan per record was quadratic in a long forEach's report
                index = {(a.agent, a.attempt, a.item): a for a in reversed(step.attempts)}
            try:
                a = index.get((r.get("agentId"), r.get("attempt"), r.get("item")))
            except TypeError:  # not a key any attempt has (a list where a number belongs)
                continue
            if a is not None:
                a.extra.update({k: v for k, v in extra.items() if k not in a.extra})

    # ------------------------------------------------------------ reading
    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cost_usd(self) -> float | None:
        costs = [c for c in (s.cost_usd for s in self.steps.values()) if c is not None]
        return sum(costs) if costs else None

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps.values())

    def attempts(self) -> list[Attempt]:
        return [a for s in self.steps.values() for a in s.attempts]

    def agent_usage(self) -> dict[str, tuple[int, float | None]]:
        """agent id -> (tokens, cost in USD or None) over all its attempts."""
        out: dict[str, tuple[int, float | None]] = {}
        for a in self.attempts():
            tokens, cost = out.get(a.agent, (0, None))
            c = a.cost_usd
            out[a.agent] = (tokens + a.tokens, cost if c is None else (cost or 0.0) + c)
        return out

    def failures(self) -> list[tuple[str, str, str]]:
        """(where, kind, message) of every failure: the run's, each step's, each failed attempt's."""
        found = []
        if self.error:
            found.append(("run", str(self.error.get("kind") or "error"), str(self.error.get("message") or "")))
        for s in self.steps.values():
            if s.error and s.status != "skipped":
                found.append((f"step {s.id}", str(s.error_kind or s.status), str(s.error)))
            for a in s.attempts:
                if a.status in ("failed", "rejected") or (a.status == "cancelled" and a.error):
                    found.append((f"step {s.id}, {a.agent} attempt {a.attempt}", str(a.error_kind or a.status),
                                  str(a.error or "")))
        return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _item(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _add(step: Step, a: Attempt) -> None:
    step.attempts.append(a)
    step.attempt = max(step.attempt, a.attempt)
    _count(step, a, +1)


def _count(step: Step, a: Attempt, sign: int) -> None:
    """``a`` into (+1) or out of (-1) its step's counts, as its status and usage are now."""
    if a.status == "running":
        step.busy += sign
    else:
        step.done += sign
    cost = a.cost_usd
    if cost is not None:
        step.cost_usd = (step.cost_usd or 0.0) + sign * cost


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def load_model(run_dir: Path) -> RunModel:
    """The model of the run in ``run_dir``, complete up to now: a run still being written is
    ``running``; one whose writer died without ``result.json`` has the journal's status for it
    (``unfinished``, ``killed``)."""
    record = load_run(Path(run_dir))
    model = RunModel(record.run_id, record.dir)
    model.pattern, model.pool = record.pattern or "", record.pool or ""
    model.started = epoch(record.started_at)
    model.set_plan(record.run.get("plan"))
    for event in read_events(record.dir):
        model.apply(event)
    if record.result is not None:
        model.finish(record.result)
    elif model.status == "running" or record.status != "running":
        model.status = record.status
    return model
