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
from runner.workspace.transfer import FORMAT, Archive, Source

# 2: a task may carry its workspace (`workspaceArchive`) and its reply the change (`change`);
# /health says `maxWorkspaceBytes`. 3: the workspace and the change are streamed, not inline
# (HTTP `POST /execute-workspace`, gRPC `ExecuteWorkspaceTask`). Everything of 1 is unchanged.
PROTOCOL_VERSION = "3"
WORKSPACE_VERSION = 3  # the first version whose servers take a streamed workspace (and no inline one)
STREAMED_TASK = "application/x-runner-task+tar-gzip"  # a JSON line, then the workspace's tar.gz
STREAMED_RESULT = "application/x-runner-result+patch"  # a JSON line, then the change's bytes
INLINE_REFUSED = ("`workspaceArchive` inline is protocol 2; this agent server speaks protocol 3 and takes a "
                  "workspace only streamed: upgrade runner where the caller runs")
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
    if req.archive is not None:  # version 3: the head of a streamed task, the archive follows it
        body["workspaceArchive"] = {"format": FORMAT, "cwd": req.archive.cwd}
    return body


def archive_from_json(obj: Any, source: Source | None) -> Archive | None:
    """The request's ``workspaceArchive`` (None when absent), read from ``source`` (None: a plain
    JSON request, which cannot carry one since protocol 3)."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise Malformed("field `workspaceArchive` is not an object")
    if source is None:
        raise Malformed(INLINE_REFUSED)
    if obj.get("format") != FORMAT:
        raise Malformed(f"field `workspaceArchive.format` must be `{FORMAT}`, not {obj.get('format')!r}")
    cwd = _field(obj, "cwd", str, optional=True) or ""
    return Archive(source=source, cwd=cwd)


def request_from_json(obj: Any, source: Source | None = None) -> TaskRequest:
    """A task from its JSON; ``source``: where the workspace's archive follows (a streamed task)."""
    if not isinstance(obj, dict):
        raise Malformed("the body is not a JSON object")
    timeout = _field(obj, "timeout", (int, float), optional=True)
    archive = archive_from_json(obj.get("workspaceArchive"), source)
    if source is not None and archive is None:
        raise Malformed("a streamed task without `workspaceArchive`")
    workspace = _field(obj, "workspace", str, optional=True) or None
    if archive is not None and workspace is not None:
        raise Malformed("`workspace` and `workspaceArchive` exclude each other")
    return TaskRequest(task_id=_field(obj, "taskId", str), description=_field(obj, "description", str),
                       data=_field(obj, "data", dict, optional=True) or {},
                       timeout=float(timeout) if timeout else None, workspace=workspace, archive=archive)


def result_to_json(res: TaskResult, change_size: int | None = None) -> dict[str, Any]:
    """The reply's JSON; ``change_size``: the bytes of the change that follow it (a streamed reply)."""
    body = {"taskId": res.task_id, "result": res.result, "confidence": res.confidence,
            "reasoning": res.reasoning, "output": res.output}
    if res.usage:  # optional: an older peer neither sends nor reads it
        body["usage"] = dict(res.usage)
    if res.denied:  # optional (version 2): tools the agent was refused (a workspace step fails as `denied`)
        body["denied"] = list(res.denied)
    if change_size is not None:  # the answer to a `workspaceArchive`: the change, maybe empty, follows
        body["change"] = {"size": change_size}
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
    denied = obj.get("denied") or []
    if not isinstance(denied, list) or not all(isinstance(d, str) for d in denied):
        raise Malformed("field `denied` is not a list of strings")
    return TaskResult(task_id=_field(obj, "taskId", str), result=obj["result"],
                      confidence=float(confidence) if confidence is not None else None,
                      reasoning=_field(obj, "reasoning", str, optional=True) or "",
                      output=_field(obj, "output", str, optional=True) or "", usage=reported,
                      denied=tuple(denied))


def change_size(obj: dict[str, Any]) -> int | None:
    """The bytes of the change that follow a streamed reply's JSON (``change.size``); None when absent."""
    change = obj.get("change")
    if change is None:
        return None
    if not isinstance(change, dict):
        raise Malformed("field `change` is not an object")
    size = _field(change, "size", int)
    if size < 0:
        raise Malformed("field `change.size` is negative")
    return size


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
