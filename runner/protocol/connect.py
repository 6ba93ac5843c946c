"""``connect``: the handle for an agent behind an endpoint, the client picked by its scheme
(``http``/``https``: ``runner.protocol.http_client``; ``grpc``/``grpcs``: ``runner.protocol.grpc_client``,
an optional extra). The handles' shared base and failure mapping: ``runner.protocol.client``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from runner.agents.model import AgentInfo
from runner.context import EventBus
from runner.errors import ConfigurationError
from runner.protocol.auth import AuthConfig
from runner.protocol.client import SCHEMES, RemoteHandle, display_endpoint
from runner.protocol.http_client import HttpHandle

__all__ = ["connect", "display_endpoint"]


def connect(info: AgentInfo, bus: EventBus, auth: AuthConfig | Mapping[str, Any] | None = None,
            ) -> RemoteHandle:
    """A handle (state ``discovered``) for the agent at ``info.endpoint``; nothing is contacted yet.

    ``auth`` is an ``AuthConfig`` or a pool's raw ``auth`` mapping (``{tokenEnv: ...}``; read
    from ``os.environ``, relative files from the working directory; prefer
    ``AuthConfig.from_pool(pool.auth, ctx.environ, pool_folder)`` once per run).
    """
    if auth is not None and not isinstance(auth, AuthConfig):
        auth = AuthConfig.from_pool(auth)
    if not info.endpoint:
        raise ConfigurationError(f"agent {info.id} has no endpoint to connect to")
    scheme = urlsplit(info.endpoint).scheme.lower()
    if scheme in ("http", "https"):
        return HttpHandle(info, bus, auth)
    if scheme in ("grpc", "grpcs"):
        try:
            from runner.protocol.grpc_client import GrpcHandle  # lazy: optional extra [grpc]
        except ModuleNotFoundError as exc:
            raise ConfigurationError(f"agent {info.id} uses gRPC, which needs `grpcio` and `protobuf`: "
                                     "pip install 'runner[grpc]'") from exc
        return GrpcHandle(info, bus, auth)
    raise ConfigurationError(f"agent {info.id}: endpoint scheme `{scheme}` is not supported "
                             f"(expected one of: {', '.join(s + '://' for s in SCHEMES)})")
