"""Budgets: the run's and each step's totals of cost, tokens and time, against ``budget:``.

``Spending`` keeps the totals as answers come in (``charge``) and says which budget a total
reached; the executor stops the run then (docs/pattern.md "Budgets"). Time is checked by the
executor's loop through ``deadlines``/``expired``. Everything here is pure bookkeeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.agents import usage as usage_
from runner.spec.models import Budget, Pattern


@dataclass(frozen=True)
class Breach:
    """A budget reached: whose (``None``: the run's), which limit, the total, at which step."""

    step: str
    owner: str | None  # the step whose own budget it is; None: the pattern's
    what: str  # cost | tokens | time
    limit: float
    spent: float

    def message(self) -> str:
        whose = f"step `{self.owner}`'s" if self.owner else "the run's"
        return (f"step `{self.step}`: {whose} {self.what} budget of {_show(self.what, self.limit)} was reached "
                f"({_show(self.what, self.spent)} spent)")


def _show(what: str, value: float) -> str:
    if what == "cost":
        return f"${value:.4f}"
    if what == "tokens":
        return f"{int(value)} tokens"
    return f"{value:g}s"


def reached(budget: Budget, spent: Mapping[str, Any], elapsed: float | None = None) -> tuple[str, float, float] | None:
    """``(what, limit, total)`` of the first limit of ``budget`` that ``spent``/``elapsed`` reached."""
    if budget.cost is not None and spent.get("cost_usd", 0.0) >= budget.cost:
        return "cost", budget.cost, float(spent["cost_usd"])
    if budget.tokens is not None and usage_.tokens(spent) >= budget.tokens:
        return "tokens", budget.tokens, usage_.tokens(spent)
    if budget.time is not None and elapsed is not None and elapsed >= budget.time:
        return "time", budget.time, elapsed
    return None


class Spending:
    """Totals per step and for the run; thread-safe (answers arrive on task threads)."""

    def __init__(self, pattern: Pattern) -> None:
        self.run_budget = pattern.budget
        self.budgets = {s.id: s.budget for s in pattern.steps}
        self.started = time.monotonic()
        self.step_started: dict[str, float] = {}
        self.run_total: dict[str, Any] = {}
        self.step_total: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # asked on every turn of the executor's loop: O(steps) each time cost a 1,000-step run ~1 s
        self._active = bool(self.run_budget) or any(self.budgets.values())

    @property
    def active(self) -> bool:
        return self._active

    def step_began(self, step: str) -> None:
        self.step_started.setdefault(step, time.monotonic())

    def charge(self, step: str, used: Mapping[str, Any]) -> Breach | None:
        """Add one answer's usage; the budget it made reach, if any (the step's first)."""
        if not used:
            return None
        with self._lock:
            self.step_total[step] = usage_.add(self.step_total.get(step), used)
            self.run_total = usage_.add(self.run_total, used)
            own = reached(self.budgets.get(step) or Budget(), self.step_total[step])
            if own:
                return Breach(step, step, *own)
            run = reached(self.run_budget, self.run_total)
            return Breach(step, None, *run) if run else None

    def deadline(self, running: list[str]) -> float | None:
        """The monotonic time the first time budget of the run or of a running step ends."""
        ends = [self.started + self.run_budget.time] if self.run_budget.time else []
        ends += [self.step_started[s] + b.time for s in running
                 if (b := self.budgets.get(s)) and b.time and s in self.step_started]
        return min(ends) if ends else None

    def expired(self, running: list[str], now: float | None = None) -> Breach | None:
        """The time budget that ended, naming a running step (the first) it stops."""
        now = time.monotonic() if now is None else now
        for s in running:
            b = self.budgets.get(s)
            if b and b.time and s in self.step_started and now - self.step_started[s] >= b.time:
                return Breach(s, s, "time", b.time, now - self.step_started[s])
        if self.run_budget.time and now - self.started >= self.run_budget.time and running:
            return Breach(running[0], None, "time", self.run_budget.time, now - self.started)
        return None
