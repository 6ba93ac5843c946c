"""kmock's KubernetesEmulator on 127.0.0.1 (in a thread) and a kubelet stand-in.

The emulator stores objects and serves create/get/list/watch/delete over HTTP; it runs no pods,
ignores label selectors and sets no uid/resourceVersion. ``Kubelet`` does what a node would, for
the pods of one namespace, with the official client against the emulator:

- gives each new pod an IP of its own on the loopback network (``127.A.B.N``: ``A.B`` from this
  process's pid, so test processes side by side do not share one; ``N`` counts up), and runs its
  container's ``command``/``args`` for real (``runner`` is this interpreter's ``-m runner``),
  with the env the pod spec asks for (values, ``secretKeyRef`` read from the emulator's Secrets);
- the pod's network namespace is stood in for by that IP: the in-pod addresses ``0.0.0.0`` and
  ``127.0.0.1`` in the args and the probe command become the pod IP;
- sets ``status.phase`` Running, runs the exec readiness probe and sets the Ready condition from
  it, sets Failed/Succeeded when the process ends, and stops the process (SIGTERM, then SIGKILL
  after the grace period) when the pod is deleted;
- an image starting with ``missing/`` is never pulled: the pod stays Pending with an
  ``ErrImagePull`` container status and a ``Failed`` event (what a real node shows).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import kmock
from kubernetes import client, config

from tests.helpers.kube_expand import expand
from tests.helpers.polling import poll as poll

NAMESPACE = "runner"


class Emulator:
    """``with Emulator(tmp_path) as emu``: ``emu.kubeconfig`` points the official client at it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        async def main() -> None:
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu) as srv:
                for plural in ("pods", "secrets", "events"):  # declared: an empty list is not a 404
                    emu.resources[f"v1/{plural}"] = {}
                self.emu, self.url = emu, str(srv.url).rstrip("/")
                self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
                self._ready.set()
                await self._stop.wait()

        asyncio.run(main())

    def __enter__(self) -> Emulator:
        self._thread.start()
        assert self._ready.wait(10), "emulator did not start"
        self.kubeconfig = self.folder / "kubeconfig"
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: emu, cluster: {{server: '{self.url}'}}}}]\n"
            "users: [{name: emu, user: {}}]\n"
            "contexts: [{name: emu, context: {cluster: emu, user: emu}}]\ncurrent-context: emu\n")
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=str(self.kubeconfig)))
        return self

    def __exit__(self, *exc: object) -> None:
        self.core.api_client.close()
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def names(self, kind: str, run_id: str | None = None) -> list[str]:
        """Pods/Secrets in the namespace (of one run: filtered here, the emulator ignores selectors)."""
        fn = self.core.list_namespaced_pod if kind == "Pod" else self.core.list_namespaced_secret
        return sorted(o.metadata.name for o in fn(NAMESPACE).items
                      if run_id is None or (o.metadata.labels or {}).get("runner.run-id") == run_id)


_NET = f"127.{1 + os.getpid() // 256 % 254}.{os.getpid() % 256}"  # this process's pods' /24
_HOSTS = itertools.count()  # every pod of this process a new address (a slow-dying one keeps its own)


def _pod_ip(n: int) -> str:
    return f"{_NET}.{10 + n % 240}"


class Kubelet:
    """Runs the emulator's pods as local processes (see the module docstring)."""

    def __init__(self, emu: Emulator, logs: Path) -> None:
        self.core, self.logs = emu.core, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.ips: dict[str, str] = {}
        self.envs: dict[str, dict[str, str]] = {}
        self.specs: dict[str, Any] = {}
        self.ready: set[str] = set()
        self.seen: list[str] = []
        self._last_probe: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> Kubelet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        for name in list(self.procs):
            self._kill(name, 0)

    # ------------------------------------------------------------- the node loop

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - reported by the tests through .errors
                self.errors.append(repr(exc))
            self._stop.wait(0.05)  # the node's sync period

    def _tick(self) -> None:
        pods = {p.metadata.name: p for p in self.core.list_namespaced_pod(NAMESPACE).items}
        for name in list(self.procs):
            if name not in pods:  # deleted: stop the container
                grace = self.specs[name].spec.termination_grace_period_seconds or 0
                threading.Thread(target=self._kill, args=(name, grace), daemon=True).start()
        for name, pod in pods.items():
            if name not in self.seen:
                self.seen.append(name)
                self._admit(pod)
            elif name in self.procs:
                self._sync(name)

    def _admit(self, pod: Any) -> None:
        name, c = pod.metadata.name, pod.spec.containers[0]
        self.specs[name] = pod
        if c.image.startswith("missing/"):
            self._status(name, {"phase": "Pending", "containerStatuses": [{
                "name": c.name, "image": c.image, "imageID": "", "ready": False, "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}}]})
            self.core.create_namespaced_event(NAMESPACE, {
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.1", "namespace": NAMESPACE},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": NAMESPACE},
                "reason": "Failed", "message": f'Failed to pull image "{c.image}": not found', "type": "Warning"})
            return
        ip = _pod_ip(next(_HOSTS))
        self.ips[name] = ip
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
        for e in c.env or []:
            if e.value_from is None:
                env[e.name] = expand(e.value or "", env)
            else:
                ref = e.value_from.secret_key_ref
                env[e.name] = self._secret_value(ref.name, ref.key)
        self.envs[name] = env
        argv = [expand(a, env) for a in [*c.command, *(c.args or [])]]
        if argv[0] == "runner":
            argv = [sys.executable, "-m", "runner", *argv[1:]]
        argv = [a.replace("0.0.0.0:", f"{ip}:") for a in argv]
        with open(self.logs / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
            self.procs[name] = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
        self._status(name, {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]})

    def _secret_value(self, secret: str, key: str) -> str:
        s = self.core.read_namespaced_secret(secret, NAMESPACE)
        if s.string_data and key in s.string_data:  # the emulator keeps stringData as sent
            return s.string_data[key]
        return base64.b64decode(s.data[key]).decode()

    def _sync(self, name: str) -> None:
        proc = self.procs[name]
        code = proc.poll()
        if code is not None:
            del self.procs[name]
            self._status(name, {"phase": "Succeeded" if code == 0 else "Failed", "conditions": [
                {"type": "Ready", "status": "False", "reason": "PodCompleted"}]})
            return
        now = time.monotonic()
        if name in self.ready or now - self._last_probe.get(name, 0) < 0.2:
            return
        self._last_probe[name] = now
        probe = self.specs[name].spec.containers[0].readiness_probe.var_exec.command
        argv = [sys.executable if a == "python3" else a.replace("127.0.0.1:", f"{self.ips[name]}:") for a in probe]
        ok = subprocess.run(argv, env=self.envs[name], capture_output=True, timeout=5).returncode == 0
        if ok:
            self.ready.add(name)
            self._status(name, {"conditions": [{"type": "Ready", "status": "True"}]})

    def _status(self, name: str, status: dict[str, Any]) -> None:
        try:
            self.core.patch_namespaced_pod_status(name, NAMESPACE, {"status": status})
        except client.ApiException as exc:
            if exc.status != 404:
                raise

    def _kill(self, name: str, grace: float) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM if grace else signal.SIGKILL)
            proc.wait(grace or 5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass

    def running(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]


