"""The wire contract shared by both protocols: JSON shapes, error payloads, version.

Both servers and both clients go through these functions, so HTTP and gRPC cannot drift.
A reply that does not fit raises ``Malformed`` (the client turns it into ``AgentFailure(PARSE)``
naming the agent and endpoint).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from runner.agents import usage
from runner.agents.model import TaskRequest, TaskResult
from runner.errors import FailureKind

PROTOCOL_VERSION = "1"
FAILURE_KIND_KEY = "runner-failure-kind"  # gRPC trailing metadata naming the FailureKind
BUSY = "busy"  # message prefix of a busy answer (HTTP 409 / RESOURCE_EXHAUSTED)


class Malformed(ValueError):
    """A request or reply that does not match the wire contract."""


def _field(obj: Mapping[str, Any], key: str, types: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise Malformed(f"missing field `{key}`")
    value = obj[key]
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise Malformed(f"field `{key}` has type {type(value).__name__}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def request_to_json(req: TaskRequest) -> dict[str, Any]:
    body = {"taskId": req.task_id, "description": req.description, "data": dict(req.data),
            "timeout": req.timeout}
    if req.workspace:  # optional: the task's working directory, a path the server can see
        body["workspace"] = req.workspace
    return body


def request_from_json(obj: Any) -> TaskRequest:
    if not isinstance(obj, dict):
        raise Malformed("the body is not a JSON object")
    timeout = _field(obj, "timeout", (int, float), optional=True)
    return TaskRequest(task_id=_field(obj, "taskId", str), description=_field(obj, "description", str),
                       data=_field(obj, "data", dict, optional=True) or {},
                       timeout=float(timeout) if timeout else None,
                       workspace=_field(obj, "workspace", str, optional=True) or None)


def result_to_json(res: TaskResult) -> dict[str, Any]:
    body = {"taskId": res.task_id, "result": res.result, "confidence": res.confidence,
            "reasoning": res.reasoning, "output": res.output}
    if res.usage:  # optional: an older peer neither sends nor reads it
        body["usage"] = dict(res.usage)
    return body


def result_from_json(obj: Any) -> TaskResult:
    if not isinstance(obj, dict):
        raise Malformed("the reply is not a JSON object")
    if "result" not in obj:
        raise Malformed("missing field `result`")
    confidence = _field(obj, "confidence", (int, float), optional=True)
    if confidence is not None and not math.isfinite(confidence):
        raise Malformed("field `confidence` is not a finite number")
    try:
        reported = usage.checked(obj.get("usage"))
    except ValueError as exc:
        raise Malformed(str(exc)) from None
    return TaskResult(task_id=_field(obj, "taskId", str), result=obj["result"],
                      confidence=float(confidence) if confidence is not None else None,
                      reasoning=_field(obj, "reasoning", str, optional=True) or "",
                      output=_field(obj, "output", str, optional=True) or "", usage=reported)


def error_json(kind: FailureKind, message: str) -> dict[str, Any]:
    return {"error": {"kind": kind.value, "message": message}}


def failure_kind(value: Any, default: FailureKind = FailureKind.TASK) -> FailureKind:
    """The FailureKind a server named; an unknown name counts as ``default``."""
    try:
        return FailureKind(value)
    except ValueError:
        return default


def error_from_json(obj: Any) -> tuple[FailureKind, str] | None:
    """``(kind, message)`` of an ``{"error": {...}}`` body, None when it is not one."""
    if not isinstance(obj, dict) or not isinstance(obj.get("error"), dict):
        return None
    err = obj["error"]
    return failure_kind(err.get("kind")), str(err.get("message", ""))
