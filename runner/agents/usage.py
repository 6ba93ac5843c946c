"""Usage, normalised: what one answer cost, whatever the agent that gave it.

Every answer may carry ``usage: {input_tokens, output_tokens, cache_read_tokens, cost_usd, turns}``.
A field the agent did not report stays absent (never invented, never 0 by default).
``input_tokens`` counts every prompt token, cached or not; ``cache_read_tokens`` is the part of it
read from the vendor's prompt cache. The readers below turn what each CLI prints into this shape;
``checked`` is the gate for usage from outside (the agent protocol, a command's JSON answer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens")
FIELDS = (*TOKEN_FIELDS, "cost_usd", "turns")
Usage = dict[str, Any]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _compact(**fields: Any) -> Usage:
    """Only the fields that hold a number, in FIELDS order."""
    out: Usage = {}
    for key in FIELDS:
        value = fields.get(key)
        if key == "cost_usd":
            if not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value >= 0:
                out[key] = float(value)
        elif (n := _count(value)) is not None:
            out[key] = n
    return out


def checked(raw: Any) -> Usage:
    """Usage from outside: unknown keys and values that are not non-negative numbers are a
    ``ValueError`` naming the field (the caller says whose usage it was)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError("`usage` is not an object")
    for key, value in raw.items():
        if key not in FIELDS:
            raise ValueError(f"`usage.{key}` is not a usage field ({', '.join(FIELDS)})")
        if value is not None and not _compact(**{key: value}):
            raise ValueError(f"`usage.{key}` is not a non-negative number")
    return _compact(**raw)


def add(*usages: Mapping[str, Any] | None) -> Usage:
    """The sum: a field is present when any part reports it."""
    total: Usage = {}
    for usage in usages:
        for key, value in (usage or {}).items():
            if key in FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    if "cost_usd" in total:
        total["cost_usd"] = round(float(total["cost_usd"]), 10)
    return {k: total[k] for k in FIELDS if k in total}


def total(usages: Iterable[Mapping[str, Any] | None]) -> Usage:
    return add(*usages)


def tokens(usage: Mapping[str, Any] | None) -> int:
    """Tokens a budget counts: input (cached included) plus output."""
    usage = usage or {}
    return int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- what each CLI prints ---------------------------------------------------------------
def from_claude(result: Mapping[str, Any]) -> Usage:
    """claude's ``result`` event: ``usage`` (cache reads and writes not in ``input_tokens``),
    ``total_cost_usd``, ``num_turns``."""
    raw = _mapping(result.get("usage"))
    parts = [raw.get(k) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")]
    present = [p for p in parts if _count(p) is not None]
    return _compact(input_tokens=sum(present) if present else None, output_tokens=raw.get("output_tokens"),
                    cache_read_tokens=raw.get("cache_read_input_tokens"), cost_usd=result.get("total_cost_usd"),
                    turns=result.get("num_turns"))


def from_codex(turns: list[Mapping[str, Any]]) -> Usage:
    """codex's ``turn.completed`` usages (``input_tokens`` includes ``cached_input_tokens``)."""
    return add(*(_compact(input_tokens=u.get("input_tokens"), output_tokens=u.get("output_tokens"),
                          cache_read_tokens=u.get("cached_input_tokens"), turns=1) for u in turns))


def from_gemini(stats: Mapping[str, Any]) -> Usage:
    """gemini's ``stats``: ``stream-json`` has flat ``input_tokens``/``output_tokens``/``cached``
    (and the same per model); ``json`` has ``models{name: {api, tokens{prompt, candidates,
    cached, thoughts}}}``."""
    if "input_tokens" in stats or "output_tokens" in stats:
        return _flat_gemini(stats)
    models = _mapping(stats.get("models"))
    parts = []
    for model in models.values():
        if not isinstance(model, Mapping):
            continue
        t = model.get("tokens")
        if not isinstance(t, Mapping):
            parts.append(_flat_gemini(model))
            continue
        api = _mapping(model.get("api"))
        out = [v for v in (t.get("candidates"), t.get("thoughts")) if _count(v) is not None]
        parts.append(_compact(input_tokens=t.get("prompt", t.get("input")), output_tokens=sum(out) if out else None,
                              cache_read_tokens=t.get("cached"), turns=api.get("totalRequests")))
    return add(*parts)


def _flat_gemini(stats: Mapping[str, Any]) -> Usage:
    return _compact(input_tokens=stats.get("input_tokens", stats.get("input")),
                    output_tokens=stats.get("output_tokens"), cache_read_tokens=stats.get("cached"))


_AIDER = re.compile(r"Tokens:\s*([\d.,]+)([kKmM]?)\s+sent(?:.*?([\d.,]+)([kKmM]?)\s+cache hit)?.*?"
                    r"([\d.,]+)([kKmM]?)\s+received\.(?:\s*Cost:\s*\$([\d.,]+)\s+message)?")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def _aider_number(digits: str, suffix: str) -> int:
    return round(float(digits.replace(",", "")) * _SCALE[suffix.lower()])


def from_aider(line: str) -> Usage:
    """aider's ``Tokens: 1.2k sent, 3 received. Cost: $0.01 message, $0.02 session.`` line
    (aider rounds counts over 1,000 to ``1.2k``: the rounded count is what it reports)."""
    m = _AIDER.search(line)
    if not m:
        return {}
    cached = _aider_number(m.group(3), m.group(4)) if m.group(3) else None
    cost = float(m.group(7).replace(",", "")) if m.group(7) else None
    return _compact(input_tokens=_aider_number(m.group(1), m.group(2)),
                    output_tokens=_aider_number(m.group(5), m.group(6)), cache_read_tokens=cached, cost_usd=cost,
                    turns=1)
