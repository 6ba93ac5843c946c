"""Pure functions building the Pod and Secret manifests of one spawned agent.

Nothing here talks to a cluster: every manifest the runtime sends is made here, and the tests
validate each of them with ``kubernetes-validate`` in strict mode. Names and label values are
sanitized to what Kubernetes accepts (DNS-1123 names, 63-character label values).

The Pod runs the agent image (the Docker runtime's images: ``<prefix>agent-<type>``, or
``agent-base`` for types without their own CLI image) with ``runner agent serve --definition
JSON`` as its command (the whole definition: ``runner.spec.agentdef``), the agent server on ``0.0.0.0:<port>``, a readiness probe on ``/health`` (exec), the bearer
token and credentials as ``secretKeyRef`` env vars (never literal values in the Pod).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runner.agents.model import AgentInfo
from runner.images.recipes import IMAGE_FOR_TYPE
from runner.runtimes.k8s_options import K8sSettings
from runner.spec.agentdef import agentdef_to_data
from runner.spec.models import AgentDef

CONTAINER = "agent"
TOKEN_KEY = "RUNNER_AGENT_TOKEN"
SERVE_COMMAND = ("runner", "agent", "serve")
AGENT_UID = 10001  # the images' non-root user `agent`
L_MANAGED, L_RUN, L_AGENT, L_TYPE = "runner.managed", "runner.run-id", "runner.agent-id", "runner.agent-type"
A_AGENT = "runner.dev/agent-id"  # the unsanitized agent id

_LABEL_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME_BAD = re.compile(r"[^a-z0-9-]+")


def _digest(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def label_value(value: str) -> str:
    """``value`` as a valid label value (<= 63, alphanumeric ends); a hash suffix when it changed."""
    clean = _LABEL_BAD.sub("-", value).strip("-_.")
    if clean == value and len(value) <= 63:
        return value
    return (clean[:56].rstrip("-_.") + "-" + _digest(value)).lstrip("-")


def object_name(run_id: str, agent_id: str) -> str:
    """``runner-<run>-<agent>`` as a DNS-1123 label (pods double as hostnames: <= 63)."""
    raw = f"runner-{run_id}-{agent_id}"
    clean = _NAME_BAD.sub("-", raw.lower()).strip("-")
    if clean == raw and len(raw) <= 63:
        return raw
    return clean[:56].rstrip("-") + "-" + _digest(raw)


def image_for(settings: K8sSettings, definition: AgentDef) -> str:
    """The agent's image: the agent's ``options.image``, the pool's ``images``, else by type."""
    explicit = definition.options.get("image") or settings.images.get(definition.type)
    if explicit:
        return str(explicit)
    name = IMAGE_FOR_TYPE.get(definition.type, "agent-base")
    return f"{settings.image_prefix}{name}:{settings.image_tag}"


def labels(run_id: str, info: AgentInfo, owner: Mapping[str, str] | None = None) -> dict[str, str]:
    """The run's labels, plus the owner labels (``runner.host``/``pid``/``pid-start``) when given."""
    return {L_MANAGED: "true", L_RUN: label_value(run_id), L_AGENT: label_value(info.id),
            L_TYPE: label_value(info.type), **{k: label_value(v) for k, v in (owner or {}).items()}}


def secret_manifest(settings: K8sSettings, run_id: str, info: AgentInfo, data: dict[str, str],
                    owner: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The agent's own Secret (token + resolved credentials), named and labelled like its Pod."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": object_name(run_id, info.id), "namespace": settings.namespace,
                         "labels": labels(run_id, info, owner), "annotations": {A_AGENT: info.id}},
            "stringData": dict(data)}


def serve_args(definition: AgentDef, info: AgentInfo, port: int) -> list[str]:
    """The ``runner agent serve`` arguments: the whole definition (``--definition JSON``) as the pod
    sees it, with credentials by their variable names in the pod (their values come from a Secret)
    and no host ``workdir``. Each ``$`` is doubled: Kubernetes expands ``$(VAR)`` in args."""
    seen = replace(definition, workdir=None, credentials={var: var for var in definition.credentials},
                   capabilities=definition.capabilities or info.capabilities)
    args = ["--definition", json.dumps(agentdef_to_data(seen), default=str, separators=(",", ":")),
            "--id", info.id, "--name", info.name or info.id, "--http", f"0.0.0.0:{port}"]
    return [a.replace("$", "$$") for a in args]


def probe_command(port: int) -> list[str]:
    """The readiness probe: ``GET /health`` with the bearer token, exit 0 only on 200.

    An exec probe, not ``httpGet``: ``/health`` needs the token, which an ``httpGet`` probe could
    only carry as a literal header in the Pod spec. It exits non-zero on 503 (starting, login
    required, unhealthy) and 401, so the pod is Ready exactly when the agent is.
    """
    script = (f"import os,urllib.request as u;u.urlopen(u.Request('http://127.0.0.1:{port}/health',headers="
              f"{{'Authorization':'Bearer '+os.environ['{TOKEN_KEY}']}}),timeout=2)")
    return ["python3", "-c", script]


def _resources(definition: AgentDef) -> dict[str, Any]:
    amounts: dict[str, str] = {}
    if definition.resources.cpu:
        amounts["cpu"] = f"{max(1, round(definition.resources.cpu * 1000))}m"
    if definition.resources.memory:
        amounts["memory"] = str(int(definition.resources.memory))
    # requests == limits: the scheduler reserves what the agent may use (Guaranteed QoS)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}


def _env(settings: K8sSettings, run_id: str, info: AgentInfo, secret: str) -> list[dict[str, Any]]:
    d = info.definition
    assert d is not None
    env: list[dict[str, Any]] = [{"name": k, "value": str(v)} for k, v in {
        "RUNNER_MANAGED": "1", "RUNNER_RUN_ID": run_id, "RUNNER_AGENT_ID": info.id,
        "RUNNER_RUNTIME": "kubernetes", **d.env}.items()]
    env.append({"name": TOKEN_KEY, "valueFrom": {"secretKeyRef": {"name": secret, "key": TOKEN_KEY}}})
    # Credentials: by the agent's variable name, from the pool's Secret or the agent's own one.
    source = settings.secret_name or secret
    for var in sorted(d.credentials):
        env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": source, "key": var}}})
    return env


def pod_manifest(settings: K8sSettings, run_id: str, info: AgentInfo,
                 owner: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Pod of one agent (see the module docstring)."""
    d = info.definition
    if d is None:
        raise ValueError(f"agent {info.id} has no definition")
    name = object_name(run_id, info.id)
    container: dict[str, Any] = {
        "name": CONTAINER, "image": image_for(settings, d), "imagePullPolicy": settings.image_pull_policy,
        "command": list(SERVE_COMMAND), "args": serve_args(d, info, settings.port),
        "env": _env(settings, run_id, info, name),
        "ports": [{"name": "http", "containerPort": settings.port, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": probe_command(settings.port)}, "periodSeconds": 2,
                           "timeoutSeconds": 3, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    resources = _resources(d)
    if resources:
        container["resources"] = resources
    spec: dict[str, Any] = {
        "restartPolicy": "Never", "containers": [container],
        "terminationGracePeriodSeconds": settings.grace_period,
        "securityContext": {"runAsNonRoot": True, "runAsUser": AGENT_UID, "runAsGroup": AGENT_UID},
        # The agent never needs the API: no token unless the pool names a service account.
        "automountServiceAccountToken": bool(settings.service_account),
    }
    if settings.service_account:
        spec["serviceAccountName"] = settings.service_account
    if settings.node_selector:
        spec["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        spec["tolerations"] = [dict(t) for t in settings.tolerations]
    if d.resources.timeout:
        spec["activeDeadlineSeconds"] = max(1, math.ceil(d.resources.timeout))
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": settings.namespace, "labels": labels(run_id, info, owner),
                         "annotations": {A_AGENT: info.id}},
            "spec": spec}
