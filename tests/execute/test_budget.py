"""Budget bookkeeping (runner.execute.budget) and pricing (runner.agents.pricing): pure functions."""

from __future__ import annotations

from runner.agents.pricing import priced, rates_for, shipped
from runner.execute.budget import Spending, reached
from runner.spec.models import Budget, Pattern, Step


def pattern(run: Budget, step: Budget) -> Pattern:
    return Pattern(name="p", version="1", description="", inputs=(), outputs={}, budget=run,
                   steps=(Step(id="a", task="t", budget=step), Step(id="b", task="t")))


def test_reached_names_the_first_limit_a_total_reaches():
    assert reached(Budget(tokens=10), {"input_tokens": 4, "output_tokens": 6}) == ("tokens", 10, 10)
    assert reached(Budget(tokens=10), {"input_tokens": 4, "cache_read_tokens": 100}) is None  # cache ⊆ input
    assert reached(Budget(cost=1.0), {"cost_usd": 0.99}) is None
    assert reached(Budget(time=2), {}, elapsed=2.5) == ("time", 2, 2.5)
    assert reached(Budget(), {"cost_usd": 1e9}) is None


def test_a_step_budget_is_checked_before_the_runs_and_names_its_owner():
    spending = Spending(pattern(Budget(cost=1.0), Budget(tokens=100)))
    assert spending.charge("a", {"input_tokens": 50, "cost_usd": 0.5}) is None
    breach = spending.charge("a", {"output_tokens": 50})
    assert (breach.step, breach.owner, breach.what, breach.spent) == ("a", "a", "tokens", 100)
    assert breach.message() == "step `a`: step `a`'s tokens budget of 100 tokens was reached (100 tokens spent)"
    run = spending.charge("b", {"cost_usd": 0.5})
    assert (run.step, run.owner, run.what) == ("b", None, "cost")
    assert run.message() == "step `b`: the run's cost budget of $1.0000 was reached ($1.0000 spent)"


def test_time_budgets_end_at_the_earliest_deadline():
    spending = Spending(pattern(Budget(time=100), Budget(time=5)))
    spending.step_began("a")
    start = spending.step_started["a"]
    assert spending.deadline(["a"]) == start + 5
    assert spending.expired(["a"], now=start + 4) is None
    assert spending.expired(["a"], now=start + 5).owner == "a"
    assert spending.expired(["b"], now=spending.started + 100).owner is None


def test_pricing_prefers_the_agent_then_the_pools_model_then_the_shipped_table():
    pool = {"rev": {"input": 1.0, "output": 2.0}, "gpt-5": {"input": 9.0, "output": 9.0}}
    assert rates_for(pool, ("rev",), "gpt-5") == pool["rev"]
    assert rates_for(pool, ("x",), "gpt-5") == pool["gpt-5"]
    assert rates_for({}, ("x",), "claude-sonnet-4-5-20250929") == shipped()["models"]["claude-sonnet-4"]
    assert rates_for({}, ("x",), "gpt-5-mini-2025") == shipped()["models"]["gpt-5-mini"]  # the longest prefix
    assert rates_for({}, ("x",), None) is None and rates_for({}, ("x",), "unknown-model") is None
    assert shipped()["date"] and "estimate" in shipped()["note"].lower()


def test_priced_adds_a_cost_only_to_tokens_without_one():
    rates = {"input": 1.0, "output": 2.0, "cacheRead": 0.1}
    assert priced({"input_tokens": 1_000_000, "cache_read_tokens": 500_000, "output_tokens": 1_000_000}, rates) == \
        {"input_tokens": 1_000_000, "output_tokens": 1_000_000, "cache_read_tokens": 500_000, "cost_usd": 2.55}
    assert priced({"input_tokens": 5, "cost_usd": 7.0}, rates)["cost_usd"] == 7.0  # reported: kept
    assert priced({"turns": 1}, rates) == {"turns": 1} and priced({"input_tokens": 5}, None) == {"input_tokens": 5}
