"""Compile a pattern and a pool into a plan: a deterministic DAG (``runner.plan.dag``).

For each step, in declaration order::

    select:S -> [spawn:S] -> execute:S -> aggregate:S -> select:<each dependent step>
                                                      \\-> cleanup

``spawn:S`` exists only when some agent of the step must be started by a runtime.
Dependencies are the step's ``needs`` plus every step its templates (task, when,
forEach) refer to. A call (``uses``) is ``select:C -> aggregate:C`` around the steps of the
called pattern (``C/ID``, see runner.spec.compose): they start after its select and its
aggregate waits for them. ``runner plan`` renders this plan; ``runner apply`` executes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner import plugins
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import Diagnostic, SpecError
from runner.plan.dag import Dag
from runner.plan.model import Node, Plan, Selection
from runner.plan.select import Ranking, default_runtime, select_for_step
from runner.registries import REGISTRIES, capabilities
from runner.spec.document import paused_gc
from runner.spec.models import AgentRequirement, Pattern, Pool
from runner.spec.templates import step_dependencies
from runner.warm.state import state_path


def discover(ctx: RunContext, pool: Pool) -> list[AgentInfo]:
    """Every agent known now: direct registrations, then the env registry, then the pool's."""
    # the implicit registries are asked for every run (in the table's order), with the pool's
    # options when it lists them; the others when the pool lists them
    implicit = [t for t in REGISTRIES if capabilities(t).implicit]
    configs: list[tuple[str, Mapping[str, Any]]] = [(t, {}) for t in implicit]
    for reg in pool.registries:
        if reg.type in implicit:
            configs = [(t, reg.options if t == reg.type else o) for t, o in configs]
        else:
            configs.append((reg.type, reg.options))
    if all(t != "warm" for t, _ in configs):
        if state_path(ctx.state_dir, pool.name).exists():  # a warm pool runs (or ran): ask it
            configs.append(("warm", {}))
    seen: dict[str, AgentInfo] = {}
    for type_name, options in configs:
        if type_name not in REGISTRIES:
            continue
        registry = plugins.load("registry", REGISTRIES, type_name)(ctx, pool, options)
        try:
            for agent in registry.agents():
                seen.setdefault(agent.id, agent)
        finally:
            registry.close()
    return list(seen.values())


def compile_plan(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], ctx: RunContext,
                 candidates: list[AgentInfo] | None = None) -> Plan:
    """Build the plan; ``candidates`` defaults to ``discover(ctx, pool)``."""
    if candidates is None:
        candidates = discover(ctx, pool)
    with paused_gc():  # as loading: the plan's objects all stay alive (runner.spec.document.paused_gc)
        return _compile(pattern, pool, inputs, candidates)


def _compile(pattern: Pattern, pool: Pool, inputs: Mapping[str, Any], candidates: list[AgentInfo]) -> Plan:
    fallback = default_runtime(pool)
    graph = Dag()
    index: dict[str, int] = {}
    selections: dict[str, Selection] = {}
    ranking = Ranking(candidates)
    # steps that ask for the same agents get the same choice: a generated pattern of 10,000
    # steps chooses (templates, lanes, runtimes) once per distinct requirement, not once per step
    chosen: dict[tuple[AgentRequirement, bool], Selection] = {}

    def chain(step_id: str, kinds: tuple[str, ...]) -> None:
        ids = [f"{kind}:{step_id}" for kind in kinds]
        for node_id, kind in zip(ids, kinds, strict=True):
            index[node_id] = len(index)
            graph.add_node(node_id, node=Node(id=node_id, kind=kind, step=step_id))
        graph.add_path(ids)

    for step in pattern.steps:
        if step.uses is not None:  # a call: its select renders `with`, its aggregate the outputs
            selections[step.id] = Selection(step=step.id, agents=())
            chain(step.id, _CALL)
            continue
        key = (step.agents, bool(step.for_each))
        same = chosen.get(key)
        if same is None:
            selection = chosen[key] = select_for_step(step, ranking, pool, fallback)
        else:
            selection = Selection(step=step.id, agents=same.agents, spawn=same.spawn, runtimes=same.runtimes,
                                  lanes=same.lanes)
        selections[step.id] = selection
        chain(step.id, _SPAWNED if selection.spawn else _LIVE)
    cleanup = "cleanup"
    index[cleanup] = len(index)
    graph.add_node(cleanup, node=Node(id=cleanup, kind="cleanup"))

    known = {s.id for s in pattern.steps}
    for step in pattern.steps:
        if step.scope:  # a called pattern's step runs inside its call (runner.spec.compose)
            graph.add_edge(f"select:{step.scope[:-1]}", f"select:{step.id}")
            graph.add_edge(f"aggregate:{step.id}", f"aggregate:{step.scope[:-1]}")
        for local in step_dependencies(step):
            dep = step.scope + local
            if dep not in known:
                raise SpecError([Diagnostic(file=pattern.source, line=step.line, col=0,
                                            path=f"$.steps[{step.id}].needs",
                                            message=f"unknown step `{dep}`")])
            graph.add_edge(f"aggregate:{dep}", f"select:{step.id}")
        graph.add_edge(f"aggregate:{step.id}", cleanup)

    order = graph.topological_order(key=index.__getitem__)
    if order is None:
        cycle = [u.split(":", 1)[1] for u in graph.find_cycle() if u.startswith("select:")]
        names = " -> ".join([*cycle, cycle[0]]) if cycle else "?"
        raise SpecError([Diagnostic(file=pattern.source, line=0, col=0, path="$.steps",
                                    message=f"cycle: {names}")])
    return Plan(pattern=pattern, pool=pool, inputs=dict(inputs), graph=graph, order=order,
                selections=selections)


_CALL = ("select", "aggregate")
_LIVE = ("select", "execute", "aggregate")
_SPAWNED = ("select", "spawn", "execute", "aggregate")
