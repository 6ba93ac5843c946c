"""The states a resumed run tries for a source the earlier run's `land: apply` changed."""

from __future__ import annotations

from runner.resume.landing import bases, landing_holds

# one landing moved the tree from A to B, the next from B to C
LANDINGS = {"B": "A", "C": "B"}


def test_bases_walk_back_through_the_landings_to_the_first_state() -> None:
    assert bases("C", LANDINGS) == ["C", "B", "A"]
    assert bases("B", LANDINGS) == ["B", "A"]
    assert bases("X", LANDINGS) == ["X"]  # a tree no landing left: only itself
    assert bases(None, LANDINGS) == [None]  # a step without a workspace
    assert bases("B", {"B": "A", "A": "B"}) == ["B", "A"]  # a change landed and then landed back: no loop


def test_a_landed_step_holds_only_while_its_landing_is_in_the_tree() -> None:
    first = {"landedOver": {"before": "A", "after": "B"}}
    assert landing_holds(first, "C", LANDINGS)  # a later landing built on it
    assert landing_holds(first, "B", LANDINGS)
    assert not landing_holds(first, "A", LANDINGS)  # reverted: it runs and lands again
    assert not landing_holds(first, "X", LANDINGS)  # edited since
    assert landing_holds({"landed": {"mode": "branch"}}, "X", LANDINGS)  # a branch does not change the tree
