"""The ``kubernetes`` runtime: each spawned agent is one Pod running ``runner agent serve``.

Options: see ``runner.runtimes.k8s_options`` (namespace, serviceAccount, nodeSelector,
tolerations, imagePullPolicy, imagePrefix/imageTag/images, access, port, kubeconfig, context,
secretName, startTimeout, gracePeriod). Manifests: ``runner.runtimes.k8s_manifests`` (pure);
API calls: ``runner.runtimes.k8s_api`` (the official client, imported lazily); one agent:
``runner.runtimes.k8s_handle``. ``cleanup()`` deletes every Pod and Secret labelled with the
run; ``gc`` (``runner.runtimes.k8s_gc``) those of dead runs (``runner gc``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import ConfigurationError, RunnerError
from runner.images.recipes import IMAGE_FOR_TYPE
from runner.plugins import closed, described
from runner.runtimes.base import GcRequest, GcResult, Runtime
from runner.runtimes.k8s_api import K8sApi, import_client
from runner.runtimes.k8s_gc import gc_kubernetes, owner_labels
from runner.runtimes.k8s_handle import KubernetesHandle
from runner.runtimes.k8s_manifests import image_for, object_name
from runner.runtimes.k8s_options import OPTIONS_SCHEMA, K8sSettings, parse_settings

__all__ = ["KubernetesHandle", "KubernetesRuntime", "gc_kubernetes"]

#: agent types that run in the images (agent-base runs `command`; the CLI images their CLI)
RUNNABLE_TYPES = ("command", *IMAGE_FOR_TYPE)


class KubernetesRuntime(Runtime):
    """Starts agents as Pods of a Kubernetes cluster (see the module docstring)."""

    name = "kubernetes"
    options_schema = OPTIONS_SCHEMA
    agent_options_schema = closed({
        "image": described({"type": "string", "minLength": 1}, "this agent's image (wins over the runtime's)"),
        "start_timeout": described({"type": "number", "minimum": 0}, "seconds to ready (wins over startTimeout)"),
    })
    extras = {"kubernetes": "kubernetes"}

    def __init__(self, ctx: RunContext, options: Mapping[str, Any]) -> None:
        super().__init__(ctx, options)
        self.settings: K8sSettings = parse_settings(self.options, ctx.environ)
        import_client()  # a missing package is a configuration error, said once, at once
        self._api: K8sApi | None = None
        self._lock = threading.Lock()
        self._handles: list[KubernetesHandle] = []
        self._problem: str | None | bool = False  # False: not checked yet
        self.owner = owner_labels()  # on every Pod and Secret: `runner gc` leaves live runs alone

    @property
    def api(self) -> K8sApi:
        with self._lock:
            if self._api is None:
                self._api = K8sApi(self.settings, self.ctx.environ)
            return self._api

    def available(self) -> str | None:
        """None once the API server answered a pods list in the namespace (checked once per run)."""
        with self._lock:
            checked = self._problem
        if checked is not False:
            return checked  # type: ignore[return-value]
        try:
            self.api.probe()
            problem = None
        except ConfigurationError:
            raise  # wrong kubeconfig or RBAC: retrying on another runtime would hide it
        except RunnerError as exc:
            problem = str(exc)
        with self._lock:
            self._problem = problem
        return problem

    def can_run(self, info: AgentInfo) -> bool:
        d = info.definition
        return (d is not None and info.endpoint is None and d.runtime in (None, self.name) and self.type_runs(d)
                and (d.type in RUNNABLE_TYPES or bool(d.options.get("image"))
                     or d.type in self.settings.images))

    def spawn(self, info: AgentInfo) -> AgentHandle:
        if info.definition is None:
            raise ConfigurationError(f"agent {info.id} has no definition to start it from")
        if not self.can_run(info):
            raise ConfigurationError(f"the kubernetes runtime cannot run agent {info.id} "
                                     f"(type `{info.definition.type}` has no image)")
        handle = KubernetesHandle(info, self)
        with self._lock:
            self._handles.append(handle)
        return handle

    @classmethod
    def describe_spawn(cls, info: AgentInfo, options: Mapping[str, Any]) -> str:
        """``pod runner-<run>-<id> in namespace N, image I`` (the run id is not known yet)."""
        if info.definition is None:
            return ""
        try:
            settings = parse_settings(options, {"KUBERNETES_SERVICE_HOST": ""})
        except ConfigurationError as exc:
            return str(exc)
        sample = "00000000-000000-000000"  # a run id's shape: the name is cut/hashed as it will be
        name = object_name(sample, info.id).replace(sample, "<run>", 1)
        return (f"pod {name} in namespace {settings.namespace}, image {image_for(settings, info.definition)}"
                f", {settings.access}")

    @classmethod
    def gc(cls, options: Mapping[str, Any] | None, request: GcRequest) -> GcResult:
        """Pods and Secrets of dead runs in the namespace of the pool's kubernetes runtime."""
        if options is None:  # which cluster and namespace: only a pool's entry says (`runner gc --pool`)
            return GcResult()
        return GcResult(leftovers=tuple(gc_kubernetes(options, run_id=request.run_id, dry_run=request.dry_run,
                                                      all_hosts=request.all_hosts, environ=request.environ)))

    def start_timeout(self, definition: Any) -> float:
        return float((definition.options.get("start_timeout") if definition else None)
                     or self.settings.start_timeout)

    def cleanup(self) -> list[str]:
        """Force-stop every handle, then delete every Pod and Secret labelled with this run."""
        with self._lock:
            handles = list(self._handles)
            api = self._api
        for handle in handles:
            handle.stop(force=True)
        if api is None:
            return []
        left = delete_labelled(api, self.ctx.run_id)
        api.close()
        return left


def delete_labelled(api: K8sApi, run_id: str | None) -> list[str]:
    """Delete the managed Pods (grace 0) and Secrets of ``run_id`` (all runs when None);
    returns what could not be deleted."""
    left: list[str] = []
    for kind in ("Pod", "Secret"):
        try:
            items = api.list_managed(kind, run_id)
        except RunnerError as exc:
            left.append(f"{kind.lower()}s of run {run_id or '*'}: {exc}")
            continue
        for item in items:
            try:
                api.delete(kind, item.metadata.name, 0 if kind == "Pod" else None)
            except RunnerError as exc:
                left.append(f"{kind.lower()} {item.metadata.name}: {exc}")
    return left
