"""A step's items on its agents: items and agents run at once on the task pool (a chain of
agents for ``strategy: sequential``), spread over spare lanes of agents when a forEach is long;
a race's losers, and the rest of a vote decided early, are cancelled; an escalating vote asks
``agents.min`` agents and one more each time those asked disagree."""

from __future__ import annotations

import contextvars
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from typing import Any

from runner.agents.model import AgentInfo
from runner.execute.aggregate import Answer
from runner.execute.attempts import Attempts, TaskFor
from runner.execute.decide import early_rule, escalation_rule
from runner.plan.model import Selection
from runner.spec.models import Step
from runner.spec.templates import render, step_site

_FIRST = {"number": 1, "feedback": ""}  # the `attempt` a first attempt's task sees
_LOSER_WAIT = 5.0  # s a cancelled race loser may take to return (so its attempt is on record)


class FanOut(Attempts):
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
        site = step_site(self.plan.pattern, step.id)  # errors point at the step's task in the file
        for pos, item in enumerate(items):
            index = pos if step.for_each else None
            agents = lanes[pos % len(lanes)]
            if step.strategy == "sequential":
                yield pos, functools.partial(self._chain, step, sel, agents, index, item, site)
                continue
            task = _task_for(step.task, self.context(step, item=item, index=index, previous=[]), site, self.stopping)
            self.first_task(step, pos, task(_FIRST))  # a template error stops the step here, before its agents start
            for slot, info in enumerate(agents):
                yield pos, functools.partial(self._guarded, step, sel, info, slot, index, item, task)

    def _run_items(self, step: Step, sel: Selection, items: list[Any],
                   lanes: list[tuple[AgentInfo, ...]]) -> list[list[Answer]]:
        """Every item's answers. Items and their agents run at once on the task pool (bounded by
        the run's ``concurrency``; each agent's own limit is its lease); at most two units per
        task thread are queued, so a long ``forEach`` costs memory for its items only. Each
        unit's future reports its end to one queue: a unit's end costs the same whatever the
        number running (``concurrent.futures.wait`` over them all cost a waiter on each)."""
        answers: list[list[Answer]] = [[] for _ in items]
        todo = self._units(step, sel, items, lanes)
        if len(items) == 1 and (step.strategy == "sequential" or len(sel.agents) == 1):
            # One unit: run it in this thread (a step alone in the DAG runs in the main thread,
            # which then gets a signal itself and records how the attempt ended).
            answers[0] = _as_list(next(todo)[1]())
            return answers
        running: dict[Future[Any], tuple[int, int]] = {}
        ended: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()  # futures as they end
        slots: dict[int, int] = {}  # item position -> units handed out so far (a unit's slot)
        decided: set[int] = set()  # race items that have their winner, votes decided early
        losers: list[Future[Any]] = []
        early = early_rule(step, [*sel.agents, *self.candidates])  # None: the step waits for every answer
        enough = escalation_rule(step, [*sel.agents, *self.candidates])  # None: every agent is asked at once
        finished: dict[int, int] = {}  # item position -> its units that returned
        window = 2 * self.concurrency
        held: dict[int, list[Callable[[], Any]]] = {}  # escalation: an item's units not started yet
        wanted: dict[int, int] = {}  # escalation: units to start as soon as they are handed out
        started: dict[int, int] = {}  # item position -> its units started
        added: dict[int, int] = {}  # item position -> agents asked beyond agents.min

        def submit(pos: int, slot: int, work: Callable[[], Any]) -> None:
            started[pos] = started.get(pos, 0) + 1
            if slot >= step.agents.min:
                added[pos] = added.get(pos, 0) + 1
            future = self.task_pool.submit(contextvars.copy_context().run, work)
            running[future] = (pos, slot)
            future.add_done_callback(ended.put)

        def fill() -> None:
            while len(running) < window:
                unit = next(todo, None)
                if unit is None:
                    return
                pos, work = unit
                slot = slots[pos] = slots.get(pos, -1) + 1
                if pos in decided:
                    continue
                if enough is not None and slot >= step.agents.min and not wanted.get(pos):
                    held.setdefault(pos, []).append(functools.partial(submit, pos, slot, work))
                    continue
                if wanted.get(pos):
                    wanted[pos] -= 1
                submit(pos, slot, work)

        def busy(pos: int) -> bool:
            return any(p == pos for p, _ in running.values())

        def escalate(pos: int) -> None:
            """All of item ``pos``'s agents asked so far returned: stop there, or ask one more."""
            total = len(lanes[pos % len(lanes)])
            if started.get(pos, 0) < min(step.agents.min, total) or started[pos] >= total or busy(pos):
                return  # its first agents are not all out yet, none is left, or some still work
            assert enough is not None
            if enough(answers[pos], total - started[pos]):
                decided.add(pos)  # the agents not asked never start
                held.pop(pos, None)
            elif held.get(pos):
                held[pos].pop(0)()
            else:  # handed out later (fill)
                wanted[pos] = wanted.get(pos, 0) + 1

        fill()
        while running:
            f = ended.get()
            if f not in running:  # a race loser or a vote's rest, taken out by _stop_rest
                continue
            pos, _slot = running.pop(f)
            got = _as_list(f.result())
            if pos not in decided:
                answers[pos] += got
                finished[pos] = finished.get(pos, 0) + 1
                if step.strategy == "race" and got:
                    # The first acceptable answer wins; the others are cancelled where their agent
                    # can cancel one task (else they finish unobserved and are stopped at cleanup).
                    decided.add(pos)
                    losers += self._stop_rest(step, pos, running, f"lost the race: {got[0].agent_id} answered first")
                elif early is not None and got and (enough is None or busy(pos)) \
                        and early(answers[pos], len(lanes[pos % len(lanes)]) - finished[pos]):
                    # The vote is won whatever the others answer: they are cancelled as race losers are.
                    decided.add(pos)
                    self._early[step.id].add(pos)
                    held.pop(pos, None)
                    losers += self._stop_rest(step, pos, running, "decided early")
                elif enough is not None:
                    escalate(pos)
            fill()
        if enough is not None:
            self._escalated[step.id] = {pos: added.get(pos, 0) for pos in range(len(items))}
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
            task = _task_for(step.task, self.context(step, item=item, index=index, previous=previous), site, self.stopping)
            first = task(_FIRST)  # a template error stops the step here, before the agent starts
            if slot == 0:
                self.first_task(step, index or 0, first)
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

def _task_for(src: str, context: dict[str, Any], site: Any, stop: threading.Event) -> TaskFor:
    """The task of each attempt: rendered once, again for a retry (which sees ``attempt``);
    rendering ends when ``stop`` is set (the run is aborted)."""
    first: list[str] = []

    def task_for(attempt: dict[str, Any]) -> str:
        if attempt["number"] == 1 and first:
            return first[0]
        text = render(src, {**context, "attempt": attempt}, site=site, stop=stop)
        if attempt["number"] == 1:
            first.append(text)
        return text

    return task_for


def _as_list(got: Answer | list[Answer] | None) -> list[Answer]:
    if got is None:
        return []
    return got if isinstance(got, list) else [got]
