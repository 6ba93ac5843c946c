"""A pattern with more steps than runner's cap is refused with one clear diagnostic at `steps`
(before the per-step checks, so the cost of refusing stays bounded)."""

from __future__ import annotations

import pytest

from runner.errors import SpecError
from runner.spec import checks
from runner.spec.models import MAX_STEPS
from runner.spec.pattern import parse_pattern


def steps(n: int) -> str:
    return "name: big\nsteps:\n" + "".join(f"  - id: s{i}\n    task: go {{{{ inputs.nope }}}}\n" for i in range(n))


def test_more_steps_than_the_cap_are_refused_with_one_message(monkeypatch):
    monkeypatch.setattr(checks, "MAX_STEPS", 5)
    with pytest.raises(SpecError) as err:
        parse_pattern(steps(6), "big.yaml")
    (d,) = err.value.diagnostics  # not one per step: the steps are not checked one by one
    assert (d.path, d.line) == ("$.steps", 2)  # the `steps:` key
    assert d.message == ("6 steps, more than the 5 a pattern may have: split the work into several patterns, "
                         "or use `forEach` over a list")


def test_up_to_the_cap_the_steps_are_checked(monkeypatch):
    monkeypatch.setattr(checks, "MAX_STEPS", 5)
    with pytest.raises(SpecError) as err:
        parse_pattern(steps(5), "big.yaml")
    assert len(err.value.diagnostics) == 5 and "unknown input `nope`" in err.value.diagnostics[0].message
    assert MAX_STEPS == 20_000  # the documented cap (README "Limits")


def test_a_chain_as_long_as_the_cap_declared_last_first_loads():
    # each step needs the next one: the dependency walks are as deep as the pattern is long
    text = "name: chain\nsteps:\n" + "".join(
        f"  - id: s{i}\n    task: go\n" + (f"    needs: [s{i + 1}]\n" if i < MAX_STEPS - 1 else "")
        for i in range(MAX_STEPS))
    pattern = parse_pattern(text, "chain.yaml")
    assert [s.needs for s in pattern.steps[-2:]] == [(f"s{MAX_STEPS - 1}",), ()]


def test_a_cycle_in_a_long_chain_is_found_once():
    text = "name: loop\nsteps:\n" + "".join(
        f"  - id: s{i}\n    task: go\n    needs: [s{(i + 1) % 3000}]\n" for i in range(3000))
    with pytest.raises(SpecError) as err:
        parse_pattern(text, "loop.yaml")
    (d,) = err.value.diagnostics
    assert d.path == "$.steps[0]" and d.message.startswith("cycle: s0 -> s1 -> s2 -> ") and d.message.endswith(
        " -> s2999 -> s0")
