"""The registry contract: somewhere agents are discovered (a pool file, an env var, etcd)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.spec.models import Pool


class Registry(abc.ABC):
    """Lists agents that already exist (endpoint set) or that the pool declares (to spawn)."""

    name: str = ""

    def __init__(self, ctx: RunContext, pool: Pool, options: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.pool = pool
        self.options = dict(options)

    @abc.abstractmethod
    def agents(self) -> list[AgentInfo]:
        """The agents known now; raise InfrastructureError when the backend is unreachable."""

    def close(self) -> None:
        """Release connections and watches."""

    @classmethod
    def option_errors(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with this registry's options in a pool file (for diagnostics)."""
        return []
