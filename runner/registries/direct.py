"""The ``direct`` registry: agents registered from Python (``runner`` used as a library).

    from runner.registries.direct import register_agent
    register_agent(AgentInfo(id="mine", name="mine", type="command", endpoint="http://..."))

Registrations are process-wide (a module-level table, safe across threads) and show up in
every run whose pool lists a ``direct`` registry.
"""

from __future__ import annotations

import dataclasses
import threading

from runner.agents.model import AgentInfo
from runner.registries.base import Registry, RegistryCapabilities

_lock = threading.Lock()
_agents: dict[str, AgentInfo] = {}


def register_agent(info: AgentInfo) -> AgentInfo:
    """Add (or replace, by id) an agent; returns it as stored (``source`` = ``direct``)."""
    info = dataclasses.replace(info, source="direct")
    with _lock:
        _agents[info.id] = info
    return info


def unregister_agent(agent_id: str) -> bool:
    """Remove an agent; False if it was not registered."""
    with _lock:
        return _agents.pop(agent_id, None) is not None


def registered_agents() -> list[AgentInfo]:
    """The registered agents, in registration order."""
    with _lock:
        return list(_agents.values())


class DirectRegistry(Registry):
    """Lists what ``register_agent`` registered."""

    name = "direct"
    capabilities = RegistryCapabilities(implicit=True)

    def agents(self) -> list[AgentInfo]:
        return registered_agents()
