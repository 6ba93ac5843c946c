"""What a step's work reads: the run's state it shares (plan, agents, records, journal, the
events that stop it) and the context its templates see (``inputs``, ``steps``).

``StepRunner`` (runner.execute.steps) is built on this, through ``Attempts`` (one agent's task,
with retries: runner.execute.attempts) and ``FanOut`` (a step's items on its agents:
runner.execute.fanout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.errors import AgentFailure
from runner.execute.agents import AgentManager
from runner.execute.login import LoginHandler
from runner.execute.records import StepRecord
from runner.plan.model import Plan
from runner.resume.fingerprint import sha
from runner.spec.models import Step
from runner.spec.templates import render, step_site
from runner.workspace.manager import Workspaces


class StepsView(Mapping[str, Any]):
    """``steps`` in templates: each step's view is built when a template reads it (not all, every time)."""

    def __init__(self, records: dict[str, StepRecord], scope: str = "") -> None:
        self._records = records
        self._scope = scope  # a called pattern's steps read their own ids: `CALL/` + id

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        return self._records[self._scope + step_id].template_view()

    def __iter__(self) -> Iterator[str]:
        n = len(self._scope)
        return (sid[n:] for sid in self._records if sid.startswith(self._scope) and "/" not in sid[n:])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class StepBase:
    """The state every part of a step's work shares; the events that stop it; its templates' context."""

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
        self._escalated: dict[str, dict[int, int]] = {}  # step id -> item -> agents asked beyond agents.min
        # step id -> item position -> sha256 of its first task as rendered (the step's fingerprint)
        self.task_shas: dict[str, dict[int, str]] = {}
        self.scopes: dict[str, Mapping[str, Any]] = {}  # `CALL/` -> the inputs its call gave (runner.execute.calls)

    def stop(self, step: Step) -> threading.Event:
        """The event that ends ``step``'s retries: a step reacting to failures outlives fail-fast."""
        return self.halted if step.runs == "on-success" else self.stopping

    # ------------------------------------------------------------ context
    def context(self, step: Step | None = None, /, *, scope: str | None = None, **extra: Any) -> dict[str, Any]:
        """What ``step``'s templates see: the inputs and steps of its pattern (a called one: its
        call's, ``scope``), and ``extra`` (item, index, previous)."""
        scope = (step.scope if step is not None else "") if scope is None else scope
        inputs = self.scopes[scope] if scope else self.plan.inputs
        return {"inputs": inputs, "steps": StepsView(self.records, scope), **extra}

    def items(self, step: Step) -> list[Any] | None:
        """A forEach step's items as ``wanted`` read them (None: not a forEach step)."""
        return self._items.get(step.id) if step.for_each else None

    def first_task(self, step: Step, pos: int, task: str) -> None:
        """Item ``pos``'s first task as rendered: part of the step's fingerprint (runner.resume)."""
        self.task_shas.setdefault(step.id, {})[pos] = sha(task)

    def renderer(self, step: Step, **extra: Any) -> Callable[[str, str], str]:
        """Renders a template of ``step`` (``render(src, key)``; errors point at ``key``)."""
        return self._renderer(step, **extra)

    def _renderer(self, step: Step, **extra: Any) -> Callable[[str, str], str]:
        def render_at(src: str, key: str) -> str:
            return render(src, self.context(step, **extra), site=step_site(self.plan.pattern, step.id, key),
                          stop=self.stopping)

        return render_at
