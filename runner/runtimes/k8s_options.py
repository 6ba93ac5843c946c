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

from runner.errors import ConfigurationError

ACCESS_MODES = ("pod-ip", "port-forward")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
KNOWN = ("namespace", "serviceAccount", "nodeSelector", "tolerations", "imagePullPolicy", "imagePrefix",
         "imageTag", "images", "access", "port", "kubeconfig", "context", "secretName", "startTimeout",
         "gracePeriod")
TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")


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


def _bad(key: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"kubernetes runtime: option `{key}` {why}")


def _str_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _bad(key, "must be a mapping of strings")
    return {k: str(v) for k, v in value.items()}


def parse_settings(options: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> K8sSettings:
    """Check the pool options; a ConfigurationError (one line) names the first bad key."""
    nested = options.get("options")
    if isinstance(nested, Mapping):  # `options: {...}` under the entry, as some examples write it
        options = {**nested, **{k: v for k, v in options.items() if k != "options"}}
    unknown = sorted(set(options) - set(KNOWN))
    if unknown:
        from runner.plugins import suggest

        raise _bad(unknown[0], f"is unknown: {suggest(unknown[0], list(KNOWN))}")
    o = dict(options)
    access = o.get("access") or ("pod-ip" if in_cluster(environ) else "port-forward")
    if access not in ACCESS_MODES:
        raise _bad("access", f"must be one of {', '.join(ACCESS_MODES)}, not `{access}`")
    policy = o.get("imagePullPolicy", "IfNotPresent")
    if policy not in PULL_POLICIES:
        raise _bad("imagePullPolicy", f"must be one of {', '.join(PULL_POLICIES)}, not `{policy}`")
    tolerations = o.get("tolerations") or []
    if not isinstance(tolerations, list) or not all(
            isinstance(t, Mapping) and set(t) <= set(TOLERATION_KEYS) for t in tolerations):
        raise _bad("tolerations", f"must be a list of mappings with keys among {', '.join(TOLERATION_KEYS)}")
    try:
        port = int(o.get("port", 8080))
        start_timeout = float(o.get("startTimeout", 120))
        grace = int(o.get("gracePeriod", 10))
    except (TypeError, ValueError) as exc:
        raise _bad("port/startTimeout/gracePeriod", f"must be numbers ({exc})") from exc
    if not 1 <= port <= 65535:
        raise _bad("port", "must be between 1 and 65535")
    return K8sSettings(
        namespace=str(o.get("namespace") or "runner"), service_account=o.get("serviceAccount") or None,
        node_selector=_str_map("nodeSelector", o.get("nodeSelector") or {}),
        tolerations=tuple(dict(t) for t in tolerations), image_pull_policy=policy,
        image_prefix=str(o.get("imagePrefix", "runner/")), image_tag=str(o.get("imageTag", "latest")),
        images=_str_map("images", o.get("images") or {}), access=access, port=port,
        kubeconfig=o.get("kubeconfig") or None, context=o.get("context") or None,
        secret_name=o.get("secretName") or None, start_timeout=start_timeout, grace_period=max(0, grace))
