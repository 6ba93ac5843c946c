"""The official ``kubernetes`` client (imported lazily), behind the few calls the runtime makes.

Every call the runtime makes is one of the RBAC verbs in ``deploy/kubernetes/rbac.yaml``:
pods create/get/list/watch/delete, pods/portforward create, secrets create/get/list/delete,
events list. Client exceptions are translated here into runner's errors (never with a Secret's
content: the client's error bodies come from the API server, which never echoes secret data).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from runner.errors import ConfigurationError, InfrastructureError
from runner.runtimes.k8s_manifests import L_MANAGED, L_RUN, label_value
from runner.runtimes.k8s_options import K8sSettings, in_cluster


def import_client() -> Any:
    """The ``kubernetes`` package; a one-line ConfigurationError when it is not installed."""
    try:
        import kubernetes  # lazy: optional extra [kubernetes]
    except ModuleNotFoundError as exc:
        raise ConfigurationError("runtime `kubernetes` needs the Python package `kubernetes`: "
                                 "pip install 'runner[kubernetes]'") from exc
    return kubernetes


def one_line(exc: BaseException) -> str:
    """A short description of a client error: status and reason, never the whole body."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status is not None:
        return f"HTTP {status} {reason or ''}".strip()
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "status", None) == 404


class K8sApi:
    """A CoreV1 client for one runtime config (kubeconfig/context, or in-cluster)."""

    def __init__(self, settings: K8sSettings, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.ns = settings.namespace
        k = import_client()
        self.k = k
        try:
            if settings.kubeconfig or settings.context or not in_cluster(environ):
                path = settings.kubeconfig or environ.get("KUBECONFIG") or None
                self.api_client = k.config.new_client_from_config(config_file=path, context=settings.context)
            else:
                cfg = k.client.Configuration()
                k.config.load_incluster_config(client_configuration=cfg)
                self.api_client = k.client.ApiClient(cfg)
        except Exception as exc:  # noqa: BLE001 - ConfigException, missing file, bad YAML
            raise ConfigurationError(f"kubernetes runtime: cannot load the cluster configuration: "
                                     f"{one_line(exc)}") from exc
        self.core = k.client.CoreV1Api(self.api_client)

    def close(self) -> None:
        try:
            self.api_client.close()
        except Exception:  # noqa: BLE001 - closing an idle pool
            pass

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self.k.client.ApiException as exc:
            if exc.status in (401, 403):
                raise ConfigurationError(f"kubernetes: {what} refused ({one_line(exc)}): check the "
                                         "credentials and RBAC (deploy/kubernetes/rbac.yaml)") from exc
            raise InfrastructureError(f"kubernetes: {what} failed: {one_line(exc)}") from exc
        except Exception as exc:  # noqa: BLE001 - urllib3 connection errors and the like
            raise InfrastructureError(f"kubernetes: {what} failed: {one_line(exc)}") from exc

    # ------------------------------------------------------------- the calls

    def probe(self) -> None:
        """One cheap authorized call (pods list, limit 1): the API server answers us."""
        self._call(f"listing pods in namespace {self.ns}", self.core.list_namespaced_pod, self.ns, limit=1)

    def create(self, manifest: dict[str, Any]) -> None:
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        fn = self.core.create_namespaced_pod if kind == "Pod" else self.core.create_namespaced_secret
        self._call(f"creating {kind.lower()} {name}", fn, self.ns, manifest)

    def read_pod(self, name: str) -> Any | None:
        """The pod, or None when it does not exist."""
        try:
            return self._call(f"reading pod {name}", self.core.read_namespaced_pod, name, self.ns)
        except InfrastructureError as exc:
            if is_not_found(exc.__cause__ or exc):
                return None
            raise

    def watch_pod(self, name: str, seconds: float) -> Iterator[Any]:
        """Pod objects as they change (the first one at once), for at most ``seconds``."""
        w = self.k.watch.Watch()
        try:
            # The field selector narrows it on a real server; the name check below is for servers
            # (and emulators) that ignore selectors.
            for event in w.stream(self.core.list_namespaced_pod, self.ns, field_selector=f"metadata.name={name}",
                                  timeout_seconds=max(1, int(seconds)), _request_timeout=seconds + 0.5):
                obj = event.get("object")
                if obj is not None and getattr(obj.metadata, "name", None) == name:
                    yield event["type"], obj
        except self.k.client.ApiException as exc:
            raise InfrastructureError(f"kubernetes: watching pod {name} failed: {one_line(exc)}") from exc
        except Exception as exc:  # noqa: BLE001 - urllib3: a read timeout ends the slice
            import urllib3  # lazy: optional extra [kubernetes]

            if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError, urllib3.exceptions.ProtocolError)):
                raise TimeoutError(one_line(exc)) from exc
            raise InfrastructureError(f"kubernetes: watching pod {name} failed: {one_line(exc)}") from exc
        finally:
            w.stop()

    def delete(self, kind: str, name: str, grace: int | None = None) -> bool:
        """Delete one pod/secret; False when it was already gone."""
        fn = self.core.delete_namespaced_pod if kind == "Pod" else self.core.delete_namespaced_secret
        kwargs = {} if grace is None else {"grace_period_seconds": grace}
        try:
            fn(name, self.ns, **kwargs)
        except self.k.client.ApiException as exc:
            if is_not_found(exc):
                return False
            raise InfrastructureError(f"kubernetes: deleting {kind.lower()} {name} failed: {one_line(exc)}") from exc
        except Exception as exc:  # noqa: BLE001
            raise InfrastructureError(f"kubernetes: deleting {kind.lower()} {name} failed: {one_line(exc)}") from exc
        return True

    def list_managed(self, kind: str, run_id: str | None = None) -> list[Any]:
        """Pods/Secrets labelled ``runner.managed=true`` (of one run when given).

        The selector narrows the answer on a real API server; the labels are checked here again
        because not every server honours selectors (kmock's emulator ignores them).
        """
        selector = f"{L_MANAGED}=true" + (f",{L_RUN}={label_value(run_id)}" if run_id else "")
        fn = self.core.list_namespaced_pod if kind == "Pod" else self.core.list_namespaced_secret
        items = self._call(f"listing {kind.lower()}s", fn, self.ns, label_selector=selector).items
        out = []
        for item in items:
            lab = item.metadata.labels or {}
            if lab.get(L_MANAGED) == "true" and (run_id is None or lab.get(L_RUN) == label_value(run_id)):
                out.append(item)
        return out

    def pod_events(self, name: str, limit: int = 8) -> list[str]:
        """The pod's last events (``Reason: message``), best effort: [] when they cannot be read."""
        try:
            items = self.core.list_namespaced_event(
                self.ns, field_selector=f"involvedObject.name={name}").items
        except Exception:  # noqa: BLE001 - events only decorate an error message
            return []
        mine = [e for e in items if getattr(e.involved_object, "name", None) == name]
        return [f"{e.reason}: {e.message}" for e in mine[-limit:]]
