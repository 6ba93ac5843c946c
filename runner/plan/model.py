"""The compiled plan: what ``runner plan`` shows and ``runner apply`` executes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.agents.model import AgentInfo
from runner.plan.dag import Dag
from runner.spec.models import Pattern, Pool

NODE_KINDS = ("select", "spawn", "execute", "aggregate", "cleanup")


@dataclass(frozen=True, kw_only=True, slots=True)  # slots: a plan of 10,000 steps holds 30,000 of them
class Node:
    """One node of the plan DAG. ``id`` is ``kind:step`` (``cleanup`` has no step)."""

    id: str
    kind: str  # one of NODE_KINDS
    step: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)  # slots: one per step
class Selection:
    """The agents chosen for one step at compile time (re-checked when the step runs)."""

    step: str
    agents: tuple[AgentInfo, ...]  # in order of preference; len is between min and max
    spawn: tuple[str, ...] = ()  # ids of those agents a runtime must start
    runtimes: Mapping[str, str] = field(default_factory=dict)  # agent id -> runtime name (spawned)
    # forEach: further groups of template instances (each as large as ``agents``), started only
    # when the items need them (the step's own agents take fewer tasks at once than it could run)
    lanes: tuple[tuple[AgentInfo, ...], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Plan:
    pattern: Pattern
    pool: Pool
    inputs: Mapping[str, Any]
    graph: Dag  # node id -> attribute "node": Node
    order: tuple[str, ...]  # deterministic topological order (declaration order on ties)
    selections: Mapping[str, Selection]  # step id -> selection

    def node(self, node_id: str) -> Node:
        node: Node = self.graph.nodes[node_id]["node"]
        return node

    @property
    def spawned_agents(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for sel in self.selections.values():
            for agent_id in sel.spawn:
                seen.setdefault(agent_id, None)
        return tuple(seen)
