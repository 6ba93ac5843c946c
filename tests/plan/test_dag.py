"""runner.plan.dag orders nodes exactly as networkx's lexicographical topological sort does, and
finds cycles, on seeded random graphs (networkx stays for the report's drawing: the reference)."""

from __future__ import annotations

import random

import networkx as nx

from runner.plan.dag import Dag


def _random(seed: int, n: int, cyclic: bool) -> tuple[Dag, nx.DiGraph]:
    rnd = random.Random(seed)
    ours, ref = Dag(), nx.DiGraph()
    names = [f"n{rnd.randrange(10**6)}-{i}" for i in range(n)]
    for name in names:
        ours.add_node(name, node=name)
        ref.add_node(name)
    for _ in range(n * 2):
        a, b = sorted(rnd.sample(range(n), 2))
        ours.add_edge(names[a], names[b])
        ref.add_edge(names[a], names[b])
    if cyclic:
        ours.add_edge(names[-1], names[0])
        ref.add_edge(names[-1], names[0])
    return ours, ref


def test_order_is_networkx_lexicographical_order():
    for seed in range(50):
        ours, ref = _random(seed, 60, cyclic=False)
        rank = {n: i for i, n in enumerate(reversed(list(ref)))}  # a key unlike insertion order
        assert ours.topological_order(rank.__getitem__) == tuple(
            nx.lexicographical_topological_sort(ref, key=rank.__getitem__))
        assert sorted(ours.edges) == sorted(ref.edges)
        for n in ref:
            assert list(ours.successors(n)) == list(ref.successors(n))
            assert list(ours.predecessors(n)) == list(ref.predecessors(n))
            assert ours.in_degree(n) == ref.in_degree(n)


def test_a_cycle_is_found_and_has_no_order():
    for seed in range(20):
        ours, ref = _random(seed, 30, cyclic=True)
        if nx.is_directed_acyclic_graph(ref):
            continue
        assert ours.topological_order(str) is None
        cycle = ours.find_cycle()
        assert cycle and all(ours.nodes[n] for n in cycle)
        assert all((u, v) in ref.edges for u, v in zip(cycle, [*cycle[1:], cycle[0]], strict=True))
    assert Dag().find_cycle() == []
