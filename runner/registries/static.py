"""The ``static`` registry: the agents a pool file lists under ``agents``."""

from __future__ import annotations

from runner.agents.model import AgentInfo
from runner.registries.base import Registry, RegistryCapabilities
from runner.spec.models import StaticAgent


def static_agent_info(agent: StaticAgent, source: str = "static") -> AgentInfo:
    """The ``AgentInfo`` of one pool agent: reached at its endpoint, or spawned from its definition."""
    d = agent.definition
    return AgentInfo(id=agent.id, name=agent.name, type=d.type, capabilities=tuple(d.capabilities),
                     expertise=dict(d.expertise), endpoint=agent.endpoint, definition=d,
                     metadata=dict(d.metadata), source=source)


class StaticRegistry(Registry):
    """Lists ``pool.agents`` in declaration order."""

    name = "static"
    capabilities = RegistryCapabilities(implicit=True, in_pool_file=True)

    def agents(self) -> list[AgentInfo]:
        return [static_agent_info(a) for a in self.pool.agents]
