"""The plan's graph: directed, string node ids, attributes per node, deterministic order.

The part of ``networkx.DiGraph`` that compiling, rendering and executing a plan use, in one
small class: importing networkx (~290 modules) was the largest share of a cold ``runner
apply`` of a one-step pattern, and building its graph dominated compiling 1,000 steps (issue 18).
The report's drawing (``runner.observe.html.dag``) still uses networkx::

    g = Dag()
    g.add_node("select:a", node=...); g.add_edge("select:a", "execute:a")
    g.nodes["select:a"]["node"]; list(g.successors("select:a")); g.in_degree("execute:a")
    g.topological_order(key=rank.__getitem__)  # smallest key first among the ready nodes
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any


class Dag:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}  # id -> attributes, in insertion order
        self._succ: dict[str, dict[str, None]] = {}
        self._pred: dict[str, dict[str, None]] = {}

    def add_node(self, node_id: str, **attrs: Any) -> None:
        if node_id not in self.nodes:
            self.nodes[node_id] = attrs
            self._succ[node_id] = {}
            self._pred[node_id] = {}
        else:
            self.nodes[node_id].update(attrs)

    def add_edge(self, u: str, v: str) -> None:
        succ, pred = self._succ, self._pred
        if u not in succ:
            self.add_node(u)
        if v not in succ:
            self.add_node(v)
        succ[u][v] = None
        pred[v][u] = None

    def add_path(self, node_ids: list[str]) -> None:
        for i in range(1, len(node_ids)):
            self.add_edge(node_ids[i - 1], node_ids[i])

    def successors(self, node_id: str) -> Iterator[str]:
        return iter(self._succ[node_id])

    def predecessors(self, node_id: str) -> Iterator[str]:
        return iter(self._pred[node_id])

    def in_degree(self, node_id: str) -> int:
        return len(self._pred[node_id])

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(u, v) for u, vs in self._succ.items() for v in vs]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def topological_order(self, key: Callable[[str], Any]) -> tuple[str, ...] | None:
        """Every node after its predecessors, the smallest ``key`` first among those ready
        (networkx's ``lexicographical_topological_sort``); None if the graph has a cycle."""
        waiting = {n: len(p) for n, p in self._pred.items()}
        ready = [(key(n), n) for n, d in waiting.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, n = heapq.heappop(ready)
            order.append(n)
            for s in self._succ[n]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (key(s), s))
        return tuple(order) if len(order) == len(self.nodes) else None

    def find_cycle(self) -> list[str]:
        """The nodes of one cycle, in edge order ([] if there is none)."""
        state: dict[str, int] = {}  # 1: on the path, 2: done
        for start in self.nodes:
            if start in state:
                continue
            path, iters = [start], [iter(self._succ[start])]
            state[start] = 1
            while iters:
                nxt = next(iters[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    iters.pop()
                elif state.get(nxt) == 1:
                    return path[path.index(nxt):]
                elif nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    iters.append(iter(self._succ[nxt]))
        return []
