"""The Python API: compile and run a pattern, as ``runner apply`` does.

>>> from runner.api import apply
>>> outcome = apply(load_pattern("p.yaml"), load_pool("pool.yaml"), {"repo": "."})
>>> outcome.exit_code, outcome.result["outputs"]
>>> [(r.run_id, r.status) for r in list_runs(".runner")]   # past and running runs, newest first

``handles`` lets Python code hand in agents of its own (any ``AgentHandle``); they are
selected first, like directly registered agents, and are never stopped by the run.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.agents.usage import total as usage_total
from runner.context import RunContext
from runner.errors import SpecError
from runner.execute.executor import Executor
from runner.execute.records import agent_usage, iso, ms
from runner.journal import Journal, RunRecord, find_run
from runner.journal import list_runs as _list_runs
from runner.journal.caps import Caps
from runner.observe import trace
from runner.observe.log import log_context
from runner.plan.compile import compile_plan, discover
from runner.plan.model import Plan
from runner.plan.render import step_graph
from runner.resume.secrets import credential_env
from runner.spec.models import Pattern, Pool
from runner.spec.templates import render


@dataclass(frozen=True, kw_only=True)
class Outcome:
    status: str  # succeeded | failed | error | interrupted
    exit_code: int
    result: dict[str, Any]  # the result.json document
    run_dir: str


def list_runs(state_dir: str | os.PathLike[str] = ".runner") -> list[RunRecord]:
    """The runs whose journals are in ``<state_dir>/runs``, newest first (what ``runner runs list`` shows)."""
    return _list_runs(Path(state_dir))


def get_run(state_dir: str | os.PathLike[str], run_id: str) -> RunRecord:
    """One run: its id, a unique prefix of it, or ``latest``; ``UsageError`` when there is none."""
    return find_run(Path(state_dir), run_id)


def plan(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], ctx: RunContext | None = None,
         handles: Sequence[AgentHandle] = ()) -> Plan:
    """The compiled plan (what ``runner plan`` shows); starts nothing."""
    return _compile(pattern, pool, inputs, ctx or RunContext(pattern_name=pattern.name), handles)[0]


def with_defaults(pattern: Pattern, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Declared inputs not given take their default (or None), as ``--input`` parsing does."""
    return {**{s.name: (s.default if s.has_default else None) for s in pattern.inputs}, **inputs}


def _compile(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], ctx: RunContext,
             handles: Sequence[AgentHandle]) -> tuple[Plan, list[AgentInfo]]:
    inputs = with_defaults(pattern, inputs)
    given = {h.id for h in handles}
    if ctx.replay is not None and ctx.replay_missing != "run":
        found = ctx.replay.agents()  # --replay: the recorded run's agents; no registry is asked
    else:
        found = discover(ctx, pool)
    candidates = [h.info for h in handles] + [a for a in found if a.id not in given]
    return compile_plan(pattern, pool, inputs, ctx, candidates), candidates


def _outputs(pattern: Pattern, executor: Executor) -> dict[str, Any]:
    ctx = {"inputs": dict(executor.plan.inputs),
           "steps": {sid: r.template_view() for sid, r in executor.records.items()}}
    outputs: dict[str, Any] = {}
    for name, src in pattern.outputs.items():
        try:
            outputs[name] = render(src, ctx)
        except SpecError as exc:  # an output over a failed/skipped step: say why, keep the others
            outputs[name] = None
            executor.journal.event("output_failed", output=name, error=exc.render())
    return outputs


class _Tee:
    """The journal, with every event also handed to ``on_event(name, fields)`` once written
    (the live view reads the run as the journal does, attempts included)."""

    def __init__(self, journal: Any, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self._journal, self._on_event = journal, on_event

    def event(self, name: str, /, **fields: Any) -> None:
        self._journal.event(name, **fields)
        try:
            self._on_event(name, fields)
        except Exception:  # noqa: BLE001 - a broken view must not break the run (the journal has it all)
            logging.getLogger("runner.execute").warning("progress view failed on %s", name, exc_info=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)


def apply(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], *, ctx: RunContext | None = None,
          handles: Sequence[AgentHandle] = (), concurrency: int | None = None,
          on_event: Callable[[str, dict[str, Any]], None] | None = None,
          redact: Callable[[str], str] | None = None) -> Outcome:
    """Compile and execute; raises only for invalid files/config (before anything starts) and
    ``Interrupted`` (after cleanup, with the partial result written to the journal).

    ``on_event(name, fields)`` sees every journal event as it is written (before redaction)."""
    # What exists now (modules, the caller's objects) is moved out of the collector's sight for
    # the run: full collections over it paused a big fan-out for ~20 ms and a 1,000-step chain
    # for 25-55 ms (bench/executor.py). Collectable again afterwards (a long-lived caller).
    gc.freeze()
    try:
        return _apply(pattern, pool, inputs, ctx=ctx, handles=handles, concurrency=concurrency,
                      on_event=on_event, redact=redact)
    finally:
        gc.unfreeze()


def _apply(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], *, ctx: RunContext | None,
           handles: Sequence[AgentHandle], concurrency: int | None,
           on_event: Callable[[str, dict[str, Any]], None] | None,
           redact: Callable[[str], str] | None) -> Outcome:
    ctx = ctx or RunContext(pattern_name=pattern.name)
    if ctx.replay is not None:
        ctx.replay.check(pattern)
    compiled, candidates = _compile(pattern, pool, inputs, ctx, handles)
    if ctx.recorder is not None:
        ctx.recorder.start(pattern, candidates)
    journal: Any = Journal(ctx.run_dir, redact=redact, caps=Caps.from_env(ctx.environ))
    if on_event is not None:
        journal = _Tee(journal, on_event)
    started = time.time()
    resumed = {"resumedFrom": ctx.resume.run_id} if ctx.resume is not None else {}
    all_agents = {a.id: a for sel in compiled.selections.values() for a in sel.agents}
    secrets_from = credential_env(all_agents.values(), ctx.environ)  # names only: `--resume` asks for them again
    journal.write_json("run.json", {"runId": ctx.run_id, "pattern": pattern.name, "pool": pool.name,
                                    "patternSource": pattern.source, "poolSource": pool.source, "inputs": dict(inputs),
                                    "startedAt": iso(started), "pid": os.getpid(), "plan": step_graph(compiled),
                                    **resumed, **({"credentialEnv": secrets_from} if secrets_from else {})})
    journal.event("run_started", runId=ctx.run_id, pattern=pattern.name, pool=pool.name, inputs=dict(inputs),
                  **resumed)
    if ctx.resume is not None:
        from runner.execute.approval import carry_decisions  # lazy: cold start (only approval steps)

        waiting = [s for s, status in ctx.resume.statuses.items() if status == "waiting"]
        for step_id in carry_decisions(ctx.resume.dir, waiting, ctx.run_dir):
            journal.event("approval_carried", step=step_id, **{"from": ctx.resume.run_id})
    executor = Executor(compiled, ctx, journal, candidates=candidates, provided=handles, concurrency=concurrency)
    interrupted = None

    with log_context(runId=ctx.run_id, patternName=pattern.name), \
            trace.span(trace.PATTERN_EXECUTION, pattern_name=pattern.name, run_id=ctx.run_id,
                       agent_count=len(all_agents)) as span:
        try:
            executor.run()
        except BaseException as exc:  # Interrupted: finish the record first, then re-raise
            interrupted = exc
        span.set(status=executor.outcome()[0])
    status, code, error = executor.outcome()
    finished = time.time()
    result = {
        "schemaVersion": 1, "runId": ctx.run_id, "status": status, "exitCode": code,
        "pattern": {"name": pattern.name, "version": pattern.version, "source": pattern.source},
        "pool": {"name": pool.name, "source": pool.source},
        "startedAt": iso(started), "finishedAt": iso(finished), "durationMs": ms(started, finished),
        "inputs": dict(inputs), "outputs": _outputs(pattern, executor) if interrupted is None else {},
        "error": error,
        "steps": [executor.records[s.id].to_dict() for s in pattern.steps],
        "usage": usage_total(executor.records[s.id].usage() for s in pattern.steps),
        "agents": [
            {"id": a.id, "name": a.name, "type": a.type, "source": a.source,
             "runtime": executor.manager.runtime_name(a.id), "endpoint": a.endpoint,
             "spawned": a.needs_spawn, "metrics": executor.manager.metrics.get(a.id, {}),
             "usage": agent_usage(list(executor.records.values()), a.id)}
            for a in all_agents.values()
        ],
        **resumed,
    }
    journal.write_json("result.json", result)
    journal.event("run_finished", status=status, exitCode=code)
    journal.close()
    if ctx.recorder is not None:
        ctx.recorder.close()
    if interrupted is not None:
        # A second Ctrl-C during the cleanup arrives as a bare KeyboardInterrupt: the first signal
        # (recorded by the executor) is what the caller reports, with the partial result.
        raise executor.interrupted or interrupted
    return Outcome(status=status, exit_code=code, result=result, run_dir=str(ctx.run_dir))
