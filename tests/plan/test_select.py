"""Selection among many candidates: one ranking per distinct `agents:` requirement, not per step."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import ConfigurationError
from runner.plan.compile import compile_plan
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: p\n", "pool.yaml")
CHECKS: list[str] = []


@dataclass(frozen=True, kw_only=True)
class Counted(AgentInfo):
    """An agent that counts how often selection asks whether it has some capabilities."""

    def has(self, capabilities: tuple[str, ...] | list[str]) -> bool:
        CHECKS.append(self.id)
        return super().has(capabilities)


def agent(i: int, caps: tuple[str, ...], **extra: object) -> AgentInfo:
    return Counted(id=f"a{i:03d}", name=f"a{i:03d}", type="command", capabilities=caps,
                   endpoint=f"http://127.0.0.1:{9000 + i}", **extra)  # type: ignore[arg-type]


def steps(*agents_lines: str) -> str:
    return "name: p\nsteps:\n" + "".join(f"  - id: s{i}\n    agents: {line}\n    task: t\n"
                                         for i, line in enumerate(agents_lines))


def test_many_steps_of_one_requirement_look_at_each_agent_with_its_rarest_capability_once(tmp_path):
    # 300 registered agents, 30 of them with `gpu`; 200 steps all asking for [review, gpu]
    candidates = [agent(i, ("review", "gpu") if i % 10 == 0 else ("review",)) for i in range(300)]
    pattern = parse_pattern(steps(*["{capabilities: [review, gpu]}"] * 200), "p.yaml")
    CHECKS.clear()
    plan = compile_plan(pattern, POOL, {}, RunContext(state_dir=tmp_path, environ={}), candidates)
    assert len(CHECKS) == 30  # was 200 steps x 300 agents = 60,000
    assert {plan.selections[f"s{i}"].agents[0].id for i in range(200)} == {"a000"}


def test_steps_that_differ_in_prefer_or_confidence_are_ranked_apart(tmp_path):
    candidates = [agent(0, ("review",), metadata={"confidence": 0.5}),
                  agent(1, ("review",), expertise={"review": 0.2}),
                  agent(2, ("review",), expertise={"review": 0.9})]
    pattern = parse_pattern(steps("{capabilities: [review]}",
                                  "{capabilities: [review], prefer: [a000]}",
                                  "{capabilities: [review], min: 2}",
                                  "{capabilities: [review], minConfidence: 0.6, min: 3}",
                                  "{capabilities: [review], min: 3}"), "p.yaml")
    ctx = RunContext(state_dir=tmp_path, environ={})
    with pytest.raises(ConfigurationError, match=r"step `s3` needs 3 agent\(s\) .* found 2"):
        compile_plan(pattern, POOL, {}, ctx, candidates)  # a000 declares confidence 0.5 < 0.6
    pattern = parse_pattern(steps("{capabilities: [review]}",
                                  "{capabilities: [review], prefer: [a000]}",
                                  "{capabilities: [review], min: 2}",
                                  "{capabilities: [review], minConfidence: 0.6, min: 2}",
                                  "{capabilities: [review], min: 3}"), "p.yaml")
    plan = compile_plan(pattern, POOL, {}, ctx, candidates)
    ids = {s: [a.id for a in plan.selections[s].agents] for s in plan.selections}
    assert ids == {"s0": ["a002"], "s1": ["a000"], "s2": ["a002", "a001"], "s3": ["a002", "a001"],
                   "s4": ["a002", "a001", "a000"]}
