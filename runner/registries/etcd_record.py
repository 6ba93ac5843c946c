"""The value stored for one agent under ``<prefix><id>``, both ways.

::

    {"id": "a1", "name": "reviewer-1", "endpoint": "http://10.0.0.5:8080",
     "metadata": {"type": "claude", "capabilities": ["review"], "expertise": {"python": 0.9}, ...},
     "status": {"healthy": true, "message": "", "updatedAt": "2026-11-25T14:05:12Z"},
     "definition": {"type": "claude", "mode": "long-lived", ...}}

``definition`` (present when the agent has one; ``runner agent serve`` publishes its own) is
the agent definition in a pool file's words (``runner.spec.agentdef``); a reader that cannot
read it keeps the agent without it and warns. Writers (``EtcdRegistration``) build it with ``record_for``; readers (``EtcdRegistry``)
turn it into an ``AgentInfo`` with ``agent_from_record``. Unknown metadata keys are kept in
``AgentInfo.metadata``, so agents can publish more than runner reads.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from runner.agents.model import AgentInfo
from runner.errors import SpecError
from runner.spec.agentdef import agentdef_from_data, agentdef_to_data
from runner.spec.models import AgentDef

log = logging.getLogger(__name__)

DEFAULT_TYPE = "remote"  # an agent that publishes no type


def record_for(info: AgentInfo, *, healthy: bool = True, message: str = "") -> dict[str, Any]:
    """The JSON-ready value an agent publishes about itself."""
    metadata = {
        **dict(info.metadata),
        "type": info.type,
        "capabilities": list(info.capabilities),
        "expertise": dict(info.expertise),
    }
    metadata.pop("status", None)
    record = {
        "id": info.id,
        "name": info.name,
        "endpoint": info.endpoint,
        "metadata": metadata,
        "status": {
            "healthy": healthy,
            "message": message,
            "updatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    if info.definition is not None:
        record["definition"] = agentdef_to_data(info.definition)
    return record


def agent_from_record(key: str, raw: bytes) -> AgentInfo | None:
    """The agent described by one stored value; None (and a warning) when it is not one."""
    try:
        value = json.loads(raw)
        metadata = dict(value.get("metadata") or {})
        capabilities = metadata.pop("capabilities", []) or []
        expertise = metadata.pop("expertise", {}) or {}
        agent_type = metadata.pop("type", None) or DEFAULT_TYPE
        status = value.get("status") or {"healthy": True, "message": ""}
        agent_id = str(value.get("id") or key.rsplit("/", 1)[-1])
        return AgentInfo(
            id=agent_id,
            name=str(value.get("name") or agent_id),
            type=str(agent_type),
            capabilities=tuple(str(c) for c in capabilities),
            expertise={str(k): float(v) for k, v in dict(expertise).items()},
            endpoint=value.get("endpoint") or None,
            definition=_definition(key, value.get("definition")),
            metadata={**metadata, "status": dict(status), "etcdKey": key},
            source="etcd",
        )
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring etcd key %s: not an agent record (%s)", key, exc)
        return None


def _definition(key: str, data: Any) -> AgentDef | None:
    if data is None:
        return None
    try:
        return agentdef_from_data(data, source=key, path="$.definition")
    except SpecError as exc:
        log.warning("etcd key %s: ignoring its definition (%s)", key,
                    "; ".join(d.render() for d in exc.diagnostics))
        return None


def is_healthy(info: AgentInfo) -> bool:
    """An agent's own last word on its health; agents that publish none count as healthy."""
    status = info.metadata.get("status")
    return bool(status.get("healthy", True)) if isinstance(status, dict) else True
