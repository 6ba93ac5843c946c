"""``runner agent serve --register etcd://...``: the served agent announces itself in etcd.

The server registers once its listeners are up (so the published endpoint answers), mirrors
its own ``/health`` into the registration (written only when it changes, under the same
lease), and deregisters first on a graceful stop, before draining, so no resolver picks an
agent that is going away. Credentials for an etcd with auth come from ``RUNNER_ETCD_USER`` /
``RUNNER_ETCD_PASSWORD`` (never from arguments: they would show in ``ps``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.agents.model import AgentInfo
from runner.registries.etcd_client import DEFAULT_PREFIX
from runner.registries.etcd_registration import EtcdRegistration

USER_ENV = "RUNNER_ETCD_USER"
PASSWORD_ENV = "RUNNER_ETCD_PASSWORD"


@dataclass(frozen=True, kw_only=True)
class RegisterOptions:
    """``--register`` and friends, as ``runner agent serve`` received them."""

    endpoints: str  # etcd://HOST:PORT[,HOST:PORT] (http://, https:// too)
    prefix: str = DEFAULT_PREFIX
    ttl: int = 10
    advertise: str | None = None  # the endpoint to publish; default: the http URL, else the grpc one


def start_registration(
    opts: RegisterOptions,
    info: AgentInfo,
    urls: Mapping[str, str],
    health: Mapping[str, Any],
    environ: Mapping[str, str],
) -> EtcdRegistration:
    """Register the agent served at ``urls`` (``{"http": url, "grpc": url}``) with its health now."""
    endpoint = opts.advertise or urls.get("http") or urls["grpc"]
    published = AgentInfo(
        id=info.id,
        name=info.name,
        type=info.type,
        capabilities=info.capabilities,
        expertise=info.expertise,
        endpoint=endpoint,
        definition=info.definition,
        metadata={**dict(info.metadata), "protocols": dict(urls)},
        source="etcd",
    )
    registration = EtcdRegistration(
        opts.endpoints,
        opts.prefix,
        published,
        ttl=opts.ttl,
        username=environ.get(USER_ENV) or None,
        password=environ.get(PASSWORD_ENV) or None,
    )
    registration.healthy = bool(health.get("healthy"))
    registration.message = str(health.get("message", ""))
    return registration.start()


def mirror_health(registration: EtcdRegistration, health: Mapping[str, Any]) -> None:
    """Publish the server's health when it changed (cheap when it did not: no write)."""
    registration.set_health(bool(health.get("healthy")), str(health.get("message", "")))
