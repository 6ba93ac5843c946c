"""Agent selection: which agents serve a step, and which of them must be spawned.

Candidates come from direct registration, then the env registry, then the pool's
registries (static first); a step takes the agents that have *all* its capabilities,
preferred ones first, then by expertise, then in discovery order. When fewer than
``min`` exist, the shortfall is made up from the pool's templates (spawned by a runtime);
when that is not enough either, the error says which capabilities are short by how many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from runner.agents.model import AgentInfo
from runner.errors import ConfigurationError, InfrastructureError
from runner.plan.model import Selection
from runner.registries import capabilities
from runner.spec.models import AgentTemplate, Pool, RuntimeConfig, Step

DEFAULT_MAX_AGENTS = RuntimeConfig(type="local").max_agents


def template_instance(template: AgentTemplate, n: int) -> AgentInfo:
    """The ``n``-th (1-based) agent made from a template; ids are stable so steps share them."""
    d = template.definition
    return AgentInfo(
        id=f"{template.name}-{n}", name=f"{template.name} #{n}", type=d.type,
        capabilities=d.capabilities, expertise=d.expertise, endpoint=None, definition=d,
        metadata=d.metadata, source=f"template:{template.name}",
    )


def _score(agent: AgentInfo, step: Step) -> tuple[int, float]:
    prefer = step.agents.prefer
    rank = len(prefer)
    for i, p in enumerate(prefer):
        if p in (agent.id, agent.name) or p in agent.expertise or p == agent.type:
            rank = i
            break
    caps = step.agents.capabilities or ("*",)
    expertise = max((agent.expertise.get(c, agent.expertise.get("*", 0.0)) for c in caps), default=0.0)
    return rank, -expertise


def _declared_confidence(agent: AgentInfo) -> float | None:
    if agent.definition is not None and agent.definition.confidence is not None:
        return agent.definition.confidence
    value = agent.metadata.get("confidence")
    return float(value) if isinstance(value, int | float) else None


class Ranking:
    """The candidates in the order a step's ``agents:`` takes them, computed once per distinct
    requirement (capabilities, prefer, minConfidence) and only over the agents that have its
    rarest capability: a plan of many steps among many registered agents costs about one pass
    over the agents per distinct requirement, not one per step."""

    def __init__(self, candidates: Sequence[AgentInfo]) -> None:
        self.candidates = list(candidates)
        self._having: dict[str, list[AgentInfo]] = {}  # capability -> its agents, in discovery order
        for agent in self.candidates:
            for cap in dict.fromkeys(agent.capabilities):
                self._having.setdefault(cap, []).append(agent)
        self._ranked: dict[tuple[object, ...], list[AgentInfo]] = {}

    def ranked(self, step: Step) -> list[AgentInfo]:
        """The agents that have all of the step's capabilities (and its minConfidence), preferred
        first, then by expertise, then in discovery order."""
        req = step.agents
        key = (req.capabilities, req.prefer, req.min_confidence)
        found = self._ranked.get(key)
        if found is None:
            pools = [self._having.get(c, []) for c in dict.fromkeys(req.capabilities)]
            fewest = min(pools, key=len) if pools else self.candidates
            found = [a for a in fewest if a.has(req.capabilities)]
            if req.min_confidence is not None:
                found = [a for a in found if (_declared_confidence(a) or 1.0) >= req.min_confidence]
            order = {a.id: i for i, a in enumerate(found)}
            found.sort(key=lambda a: (*_score(a, step), order[a.id]))
            self._ranked[key] = found
        return found


def select_for_step(step: Step, candidates: Sequence[AgentInfo] | Ranking, pool: Pool,
                    fallback_runtime: str) -> Selection:
    """Choose the agents of one step; spawned ones run on their own runtime or ``fallback_runtime``.
    A plan selects for all its steps from one ``Ranking`` of the candidates."""
    req = step.agents
    want = req.max if req.max is not None else req.min
    ranking = candidates if isinstance(candidates, Ranking) else Ranking(candidates)
    chosen = ranking.ranked(step)[:want]

    for template in pool.templates:
        if len(chosen) >= req.min:
            break
        if not set(req.capabilities) <= set(template.definition.capabilities):
            continue
        n = 1
        while len(chosen) < want and n <= template.max_instances:
            inst = template_instance(template, n)
            if all(c.id != inst.id for c in chosen):
                chosen.append(inst)
            n += 1

    if len(chosen) < req.min:
        caps = ", ".join(req.capabilities) or "(any)"
        short = req.min - len(chosen)

        dynamic = any(capabilities(r.type).dynamic for r in pool.registries)
        error = InfrastructureError if dynamic else ConfigurationError
        raise error(
            f"step `{step.id}` needs {req.min} agent(s) with capabilities [{caps}], "
            f"found {len(chosen)}: short by {short}; add agents with these capabilities to the "
            "pool, or a template that provides them"
        )

    spawn = tuple(a.id for a in chosen if a.needs_spawn)

    def runtime_of(a: AgentInfo) -> str:
        return (a.definition.runtime if a.definition is not None else None) or fallback_runtime

    lanes = _lanes(step, chosen, pool, runtime_of)
    runtimes = {a.id: runtime_of(a) for a in [*chosen, *(a for lane in lanes for a in lane)] if a.needs_spawn}
    return Selection(step=step.id, agents=tuple(chosen), spawn=spawn, runtimes=runtimes, lanes=lanes)


def _lanes(step: Step, chosen: list[AgentInfo], pool: Pool,
           runtime_of: Callable[[AgentInfo], str]) -> tuple[tuple[AgentInfo, ...], ...]:
    """A forEach step's spare groups of agents: the other instances (up to ``maxInstances``) of
    the templates that provide its capabilities, in groups as large as ``chosen``, while each
    runtime stays within its ``maxAgents`` for the step."""
    if not step.for_each or not chosen:
        return ()
    used = {a.id for a in chosen}
    spare = [inst for t in pool.templates if set(step.agents.capabilities) <= set(t.definition.capabilities)
             for n in range(1, t.max_instances + 1) if (inst := template_instance(t, n)).id not in used]
    limits = {r.type: r.max_agents for r in pool.runtimes}
    started = Counter(runtime_of(a) for a in chosen if a.needs_spawn)
    size = len(chosen)
    lanes = []
    for i in range(0, len(spare) - size + 1, size):
        lane = spare[i:i + size]
        more = Counter(runtime_of(a) for a in lane)
        if any(started[r] + k > limits.get(r, DEFAULT_MAX_AGENTS) for r, k in more.items()):
            break
        started += more
        lanes.append(tuple(lane))
    return tuple(lanes)


def default_runtime(pool: Pool) -> str:
    """The runtime tried first: the pool's lowest ``priority`` (declaration order on ties)."""
    if not pool.runtimes:
        return "local"
    return sorted(enumerate(pool.runtimes), key=lambda ir: (ir[1].priority, ir[0]))[0][1].type
