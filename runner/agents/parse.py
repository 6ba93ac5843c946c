"""Read an agent's answer out of what it printed.

Two forms are understood, tried in this order:

1. JSON: the LAST JSON object in the output that has a ``result`` key,
   ``{"result": ..., "confidence": 0.8, "reasoning": "...", "usage": {...}}`` (anywhere: alone, inside a
   markdown fence, after other text). Objects nested in a bigger one are not candidates.
2. Markers (not in strict mode): a line ``CONFIDENCE: 0.8`` (the last one counts) and any
   ``REASONING: ...`` lines; the result is the remaining text, stripped.

A confidence that is not a number or lies outside [0, 1], an empty output or (strict) a
missing JSON object is an ``AgentFailure(PARSE)``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from runner.agents import usage
from runner.errors import AgentFailure, FailureKind

_DECODER = json.JSONDecoder()
# Optional markdown decoration around the key and value: **CONFIDENCE:** 0.8, - Confidence: 0.8
_DECOR = r"[\s*_#>`-]*"
_CONFIDENCE = re.compile(rf"^{_DECOR}confidence{_DECOR}:[ \t*_`]*(?P<v>.*?){_DECOR}$", re.I | re.M)
_REASONING = re.compile(rf"^{_DECOR}reasoning{_DECOR}:[\s*_]*(?P<v>.*?)\s*$", re.I | re.M)
_MAX_SCAN = 1_000_000  # only the tail of a huge output is searched for the answer


def parse_answer(text: str, default_confidence: float | None = None, *, agent_id: str = "",
                 strict: bool = False) -> tuple[Any, float | None, str]:
    """``(result, confidence, reasoning)`` from an agent's output; see the module docstring.

    ``default_confidence`` is used when the agent reports none; ``agent_id`` names the agent
    in failures; ``strict`` (``options.output: json``) requires the JSON form.
    """
    text = text[-_MAX_SCAN:]
    if not text.strip():
        raise AgentFailure(FailureKind.PARSE, "the agent printed nothing", agent_id=agent_id)
    obj = last_json_object(text)
    if obj is not None:
        confidence = _confidence(obj.get("confidence"), default_confidence, agent_id, text)
        reasoning = obj.get("reasoning") or ""
        if not isinstance(reasoning, str):
            reasoning = json.dumps(reasoning)
        return obj["result"], confidence, reasoning
    if strict:
        raise AgentFailure(FailureKind.PARSE, 'no JSON object with a "result" key in the output',
                           agent_id=agent_id, output=text)
    confidence = default_confidence
    markers = list(_CONFIDENCE.finditer(text))
    if markers:
        confidence = _confidence(markers[-1]["v"], default_confidence, agent_id, text)
    reasoning = "\n".join(m["v"] for m in _REASONING.finditer(text) if m["v"])
    result = _REASONING.sub("", _CONFIDENCE.sub("", text)).strip()
    if not result:
        raise AgentFailure(FailureKind.PARSE, "the output holds no answer besides its markers",
                           agent_id=agent_id, output=text)
    return result, confidence, reasoning


def answer_usage(text: str, agent_id: str = "") -> dict[str, Any]:
    """The normalised ``usage`` of the JSON answer (``{"result": ..., "usage": {"input_tokens": 10,
    ...}}``), ``{}`` when it reports none; a malformed one is an ``AgentFailure(PARSE)``."""
    obj = last_json_object(text[-_MAX_SCAN:])
    if obj is None or obj.get("usage") is None:
        return {}
    try:
        return usage.checked(obj["usage"])
    except ValueError as exc:
        raise AgentFailure(FailureKind.PARSE, f"the answer's {exc}", agent_id=agent_id, output=text) from None


def has_structured_answer(text: str) -> bool:
    """Whether ``text`` holds an explicit answer (a JSON object or a CONFIDENCE marker), as
    opposed to free text that may just be an error message."""
    text = text[-_MAX_SCAN:]
    return last_json_object(text) is not None or _CONFIDENCE.search(text) is not None


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last top-level JSON object with a ``result`` key in ``text``, or None."""
    found: dict[str, Any] | None = None
    i = text.find("{")
    while i >= 0:
        try:
            obj, end = _DECODER.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict) and "result" in obj:
            found = obj
        i = text.find("{", end)  # skip what the object contained
    return found


def _confidence(value: Any, default: float | None, agent_id: str, text: str) -> float | None:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise AgentFailure(FailureKind.PARSE, "the reported confidence is not a number",
                           agent_id=agent_id, output=text)
    if not 0.0 <= value <= 1.0:
        raise AgentFailure(FailureKind.PARSE, f"the reported confidence {value:g} is outside [0, 1]",
                           agent_id=agent_id, output=text)
    return float(value)
