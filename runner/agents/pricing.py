"""Pricing tokens an agent reported without a cost.

Rates are US dollars per million tokens: ``{input, output, cacheRead}`` (``cacheRead``
defaults to ``input``). A pool's ``pricing:`` names an agent (its id or template name) or a
model; the shipped table (``pricing.json`` beside this module, dated, an estimate) names
models. The agent's own entry wins, then its model's in the pool, then the shipped one; a
model matches an entry of its own name or the longest entry it starts with
(``claude-sonnet-4-5-20250929`` → ``claude-sonnet-4``). No entry: no cost (never invented).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from runner.agents.usage import FIELDS, Usage

RATE_KEYS = ("input", "output", "cacheRead")
Rates = Mapping[str, float]


@cache
def shipped() -> dict[str, Any]:
    """The shipped table: ``{date, note, models: {model: rates}}``."""
    return json.loads(resources.files("runner.agents").joinpath("pricing.json").read_text(encoding="utf-8"))


def _match(table: Mapping[str, Rates], name: str | None) -> Rates | None:
    if not name:
        return None
    if name in table:
        return table[name]
    prefixes = [k for k in table if name.startswith(k)]
    return table[max(prefixes, key=len)] if prefixes else None


def rates_for(pool_pricing: Mapping[str, Rates], names: tuple[str, ...], model: str | None) -> Rates | None:
    """The rates of an agent known by ``names`` (id, template) running ``model``, or None."""
    for name in names:
        if name in pool_pricing:
            return pool_pricing[name]
    return _match(pool_pricing, model) or _match(shipped()["models"], model)


def priced(usage: Usage, rates: Rates | None) -> Usage:
    """``usage`` with ``cost_usd`` computed from its tokens when it has tokens and no cost."""
    if rates is None or "cost_usd" in usage or not ({"input_tokens", "output_tokens"} & set(usage)):
        return dict(usage)
    cached = usage.get("cache_read_tokens", 0)
    fresh = max(0, usage.get("input_tokens", 0) - cached)
    cost = (fresh * rates.get("input", 0.0) + cached * rates.get("cacheRead", rates.get("input", 0.0))
            + usage.get("output_tokens", 0) * rates.get("output", 0.0)) / 1_000_000
    out = dict(usage)
    out["cost_usd"] = round(cost, 10)
    return {k: out[k] for k in FIELDS if k in out}
