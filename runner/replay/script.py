"""Scripted answers (a test file's ``answers:``) as a cassette: the agents of the pool answer
what the test says, per step or per agent, every attempt alike; nothing is started."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.agents.model import AgentInfo
from runner.replay.cassette import Key


class Script:
    """What ``CassetteHandle`` asks a cassette, answered from ``answers``."""

    def __init__(self, source: str, answers: Mapping[str, Any], agents: list[AgentInfo]) -> None:
        self.path = Path(source)
        self.answers = answers
        self._agents = agents
        self._rank = {a.id: i for i, a in enumerate(agents)}

    def agents(self) -> list[AgentInfo]:
        return list(self._agents)

    def check(self, pattern: Any) -> None:
        return None  # written for this pattern: a step it does not know is simply never asked

    def rank(self, step: str, item: int | None, agent_id: str) -> int:
        return self._rank.get(agent_id, len(self._rank))  # the pool's order

    def missing(self, step: str, item: int | None, attempt: int, info: AgentInfo) -> str:
        return f"step `{step}`: {self.path} scripts no answer for it (of agent {info.id}): add it under `answers:`"

    def take(self, key: Key, agent_id: str) -> dict[str, Any] | None:
        scripted = self.answers.get(key[0])
        if scripted is None:
            return None
        if "answer" not in scripted and "error" not in scripted:
            scripted = scripted.get(agent_id)
            if scripted is None:
                return None
        if "error" in scripted:
            return {"error": {"kind": scripted["error"], "message": f"scripted failure ({scripted['error']})"}}
        return {"answer": {"result": scripted["answer"], "confidence": scripted.get("confidence"),
                           "reasoning": scripted.get("reasoning", "scripted")}}
