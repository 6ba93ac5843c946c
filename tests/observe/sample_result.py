"""A result dict as the executor writes it (``--output result.json``), for the report tests."""

from __future__ import annotations

import copy
from typing import Any


def attempt(n: int, agent: str, status: str = "ok", result: Any = "pass", kind: str | None = None,
            error: str | None = None, confidence: float | None = 0.8) -> dict[str, Any]:
    return {"attempt": n, "agentId": agent, "item": None, "startedAt": "2026-11-25T14:00:01.000Z",
            "finishedAt": "2026-11-25T14:00:02.500Z", "durationMs": 1500, "status": status, "result": result,
            "confidence": confidence, "reasoning": "looked at it", "errorKind": kind, "error": error,
            "usage": {"input_tokens": 10}}


def sample_result(secret: str = "") -> dict[str, Any]:
    """Three steps: a vote that passed, a failure, a skipped one; ``secret`` hidden in outputs."""
    return copy.deepcopy({
        "schemaVersion": 1, "runId": "20261125-140000-abc123", "status": "failed", "exitCode": 1,
        "pattern": {"name": "code-review", "version": "1.0", "source": "patterns/code-review.yaml"},
        "pool": {"name": "local", "source": "pool.yaml"},
        "startedAt": "2026-11-25T14:00:00.000Z", "finishedAt": "2026-11-25T14:00:09.000Z", "durationMs": 9000,
        "inputs": {"repo": "."}, "outputs": {"verdict": "pass"}, "error": None,
        "steps": [
            {"id": "lint", "status": "succeeded", "startedAt": "2026-11-25T14:00:01.000Z",
             "finishedAt": "2026-11-25T14:00:03.000Z", "durationMs": 2000, "output": f"pass | ok {secret}",
             "confidence": 0.9, "agents": ["a1", "a2", "a3"],
             "aggregation": {"type": "voting", "method": "majority", "votes": {"pass": 2, "fail": 1},
                             "agreement": 0.66, "ok": True, "reason": "2 of 3 agree"},
             "attempts": [attempt(1, "a1"), attempt(1, "a2"), attempt(1, "a3", result={"log": secret})],
             "usage": {"input_tokens": 30, "cost_usd": 0.01}, "error": None},
            {"id": "test", "status": "failed", "startedAt": "2026-11-25T14:00:03.000Z",
             "finishedAt": "2026-11-25T14:00:08.000Z", "durationMs": 5000, "output": None, "confidence": None,
             "agents": ["a1"], "aggregation": None,
             "attempts": [attempt(1, "a1", "failed", None, "timeout", f"no answer in 2 s \x1b[31m{secret}"),
                          attempt(2, "a1", "failed", None, "crash", "exit code 1")],
             "error": {"kind": "crash", "message": f"all 2 attempts failed <&> {secret}"}},
            {"id": "deploy", "status": "skipped", "startedAt": None, "finishedAt": None, "durationMs": 0,
             "output": None, "confidence": None, "agents": [], "aggregation": None, "attempts": [], "error": None},
        ],
        "agents": [
            {"id": "a1", "name": "checker", "type": "command", "source": "static", "runtime": "local",
             "endpoint": None, "spawned": True, "metrics": {"cpu": 1.5, "memory": 1024, "uptime": 9000,
                                                            "messageCount": 3}},
            {"id": "a2", "name": "remote", "type": "claude", "source": "template:claude", "runtime": None,
             "endpoint": "http://127.0.0.1:9000", "spawned": False, "metrics": {}},
            {"id": "a3", "name": "env", "type": "command", "source": "env", "runtime": "local",
             "endpoint": None, "spawned": True, "metrics": {}},
        ],
        "usage": {"input_tokens": 30, "cost_usd": 0.01},
    })
