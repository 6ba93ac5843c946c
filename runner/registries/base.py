"""The registry contract: somewhere agents are discovered (a pool file, an env var, etcd).

A registry declares as data what ``runner validate`` and the planner need without contacting
anything: ``options_schema`` (its ``registries[]`` entry), ``extras`` and ``capabilities``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.plugins import check_options, closed
from runner.spec.models import Pool


@dataclass(frozen=True, kw_only=True)
class RegistryCapabilities:
    """What the engine may assume about a registry (read, never compared by name)."""

    implicit: bool = False  # consulted for every run, listed in the pool or not (then with its defaults)
    in_pool_file: bool = False  # its agents are written in the pool file: validate can count them
    dynamic: bool = False  # its agents come and go outside runner: too few now may be enough later


class Registry(abc.ABC):
    """Lists agents that already exist (endpoint set) or that the pool declares (to spawn)."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[RegistryCapabilities] = RegistryCapabilities()
    options_schema: ClassVar[dict[str, Any]] = closed({})  # the registry's keys of a `registries[]` entry
    extras: ClassVar[dict[str, str]] = {}  # pip extra -> the module it provides (imported lazily)

    def __init__(self, ctx: RunContext, pool: Pool, options: Mapping[str, Any]) -> None:
        check_options(f"{self.name} registry", self.options_schema, dict(options))
        self.ctx = ctx
        self.pool = pool
        self.options = dict(options)

    @classmethod
    def needs(cls, options: Mapping[str, Any]) -> dict[str, str]:
        """The extras (``{extra: module}``) this registry needs with these options."""
        return dict(cls.extras)

    @abc.abstractmethod
    def agents(self) -> list[AgentInfo]:
        """The agents known now; raise InfrastructureError when the backend is unreachable."""

    def all_agents(self) -> list[AgentInfo]:
        """Every agent known now, also those that report themselves unhealthy (for listings)."""
        return self.agents()

    def close(self) -> None:
        """Release connections and watches."""
