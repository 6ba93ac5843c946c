"""The ``warm`` registry: the ready agents of the pool's warm pool (``runner pool up``).

``runner.plan.compile.discover`` adds it by itself when a warm pool of the pool runs (its
state file exists and its supervisor is alive); a pool may also list ``{type: warm}``.
Agents registered in etcd instead (pools with an etcd registry) are found by that registry.
"""

from __future__ import annotations

from runner.agents.model import AgentInfo
from runner.registries.base import Registry, RegistryCapabilities
from runner.warm.state import pid_alive, read_state


class WarmRegistry(Registry):
    name = "warm"
    capabilities = RegistryCapabilities(dynamic=True)

    def agents(self) -> list[AgentInfo]:
        state = read_state(self.ctx.state_dir, self.pool.name)
        if state is None or state.get("registry") != "file":
            return []
        return [
            AgentInfo(id=a["id"], name=a.get("name", a["id"]), type=a.get("type", "command"),
                      capabilities=tuple(a.get("capabilities", ())), expertise=dict(a.get("expertise", {})),
                      endpoint=a["endpoint"], metadata={"template": a.get("template"), "warmPool": True},
                      source="warm")
            for a in state.get("agents", [])
            if a.get("ready") and pid_alive(int(a.get("pid", 0)))
        ]
