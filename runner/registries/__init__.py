"""Registries by name. The pool's ``registries[].type`` comes from here.

The order is the discovery order (``runner.plan.compile.discover``): an agent id found by an
earlier registry wins (a registration from Python over the env variable over the pool file).
"""

from __future__ import annotations

from typing import Any

from runner.plugins import load

REGISTRIES: dict[str, str] = {
    "direct": "runner.registries.direct:DirectRegistry",
    "env": "runner.registries.env:EnvRegistry",
    "static": "runner.registries.static:StaticRegistry",
    "etcd": "runner.registries.etcd:EtcdRegistry",
    "warm": "runner.registries.warm:WarmRegistry",
}


def capabilities(name: str) -> Any:
    """The ``RegistryCapabilities`` of registry ``name`` (ConfigurationError when unknown)."""
    return load("registry", REGISTRIES, name).capabilities
