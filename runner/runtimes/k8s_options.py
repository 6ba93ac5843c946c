"""The ``kubernetes`` runtime's pool options, checked once into a frozen ``K8sSettings``.

Pool keys (``runtimes[]`` entries, camelCase like the rest of the pool file)::

    namespace: runner              # where pods and secrets go
    serviceAccount: NAME           # the pods' service account (default: none, token not mounted)
    nodeSelector: {key: value}
    tolerations: [{key, operator, value, effect, tolerationSeconds}]
    imagePullPolicy: IfNotPresent  # Always | IfNotPresent | Never
    imagePrefix: runner/           # image = <prefix>agent-<type>:<imageTag> (agent-base for others)
    imageTag: latest
    images: {type: image}          # explicit image per agent type (wins over the prefix)
    access: pod-ip | port-forward  # default: pod-ip inside a cluster, else port-forward
    port: 8080                     # the agent server's port in the pod
    kubeconfig: PATH               # default: $KUBECONFIG / ~/.kube/config, or in-cluster
    context: NAME                  # kubeconfig context
    secretName: NAME               # existing Secret holding the agents' credentials (by var name)
    startTimeout: 120              # seconds to Running + Ready (+ healthy)
    gracePeriod: 10                # seconds a deleted pod may take to stop before it is forced
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.plugins import check_options, closed, described

ACCESS_MODES = ("pod-ip", "port-forward")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TEXT = {"type": "string", "minLength": 1}
_STRINGS = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
_TOLERATION = closed({
    "key": {"type": "string"}, "operator": {"enum": ["Equal", "Exists"]}, "value": {"type": "string"},
    "effect": {"enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]}, "tolerationSeconds": {"type": "integer"}})
OPTIONS_SCHEMA = closed({
    "namespace": described(_TEXT, "where Pods and Secrets go (runner)"),
    "serviceAccount": described(_TEXT, "the Pods' service account (none: no API token is mounted)"),
    "nodeSelector": described(_STRINGS, "the Pods' node selector"),
    "tolerations": described({"type": "array", "items": _TOLERATION}, "the Pods' tolerations"),
    "imagePullPolicy": described({"enum": list(PULL_POLICIES)}, "(IfNotPresent)"),
    "imagePrefix": described({"type": "string"}, "images are <imagePrefix>agent-<type>:<imageTag> (runner/)"),
    "imageTag": described({"type": ["string", "number"]}, "(latest)"),
    "images": described({"type": "object", "additionalProperties": _TEXT}, "an image per agent type"),
    "access": described({"enum": list(ACCESS_MODES)}, "how runner reaches a Pod (pod-ip inside a cluster, "
                                                      "else port-forward)"),
    "port": described({"type": "integer", "minimum": 1, "maximum": 65535}, "the agent server's port in the Pod (8080)"),
    "kubeconfig": described(_TEXT, "default: $KUBECONFIG, ~/.kube/config; in a Pod the in-cluster config"),
    "context": described(_TEXT, "the kubeconfig context"),
    "secretName": described(_TEXT, "an existing Secret holding the agents' credentials (keys: variable names)"),
    "startTimeout": described({"type": "number", "minimum": 0}, "seconds to Running + Ready + healthy (120)"),
    "gracePeriod": described({"type": "integer", "minimum": 0}, "seconds a deleted Pod may drain (10)"),
})
"""The options of a ``kubernetes`` entry (``KubernetesRuntime.options_schema``)."""


@dataclass(frozen=True, kw_only=True)
class K8sSettings:
    namespace: str = "runner"
    service_account: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    image_pull_policy: str = "IfNotPresent"
    image_prefix: str = "runner/"
    image_tag: str = "latest"
    images: Mapping[str, str] = field(default_factory=dict)
    access: str = "port-forward"
    port: int = 8080
    kubeconfig: str | None = None
    context: str | None = None
    secret_name: str | None = None
    start_timeout: float = 120.0
    grace_period: int = 10

    @property
    def in_cluster(self) -> bool:
        return self.access == "pod-ip"


def in_cluster(environ: Mapping[str, str]) -> bool:
    """True when this process runs in a pod (the kubelet sets these for every container)."""
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and bool(environ.get("KUBERNETES_SERVICE_PORT"))


def parse_settings(options: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> K8sSettings:
    """Check the pool options; a ConfigurationError (one line) names the first bad key."""
    check_options("kubernetes runtime", OPTIONS_SCHEMA, dict(options))
    o = dict(options)
    access = o.get("access") or ("pod-ip" if in_cluster(environ) else "port-forward")
    return K8sSettings(
        namespace=str(o.get("namespace") or "runner"), service_account=o.get("serviceAccount") or None,
        node_selector={k: str(v) for k, v in (o.get("nodeSelector") or {}).items()},
        tolerations=tuple(dict(t) for t in o.get("tolerations") or ()),
        image_pull_policy=o.get("imagePullPolicy", "IfNotPresent"),
        image_prefix=str(o.get("imagePrefix", "runner/")), image_tag=str(o.get("imageTag", "latest")),
        images=dict(o.get("images") or {}), access=access, port=int(o.get("port", 8080)),
        kubeconfig=o.get("kubeconfig") or None, context=o.get("context") or None,
        secret_name=o.get("secretName") or None, start_timeout=float(o.get("startTimeout", 120)),
        grace_period=int(o.get("gracePeriod", 10)))
