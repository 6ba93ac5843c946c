"""The warm-pool supervisor: keeps ``warmPool: {TEMPLATE: N}`` agents ready per template.

Each agent is a ``runner agent serve`` process on 127.0.0.1 (a free port chosen here),
started from the template's definition. Every ``interval`` seconds the supervisor restarts
the dead ones and asks the live ones for ``/health``; the state file (``runner.warm.state``)
lists them with ``ready`` so that ``runner apply`` selects them instead of spawning. With an
etcd registry in the pool the servers register themselves there too (``--register``) and the
state file says ``"registry": "etcd"``. Agents whose template has ``metadata.singleUse: true``
are replaced once they have run a task.

``stop()`` (SIGTERM/SIGINT to ``runner pool up``, or ``runner pool down``) sends SIGTERM to
every server (they deregister, drain and exit), kills what is left after ``grace`` seconds
and removes the state file.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import psutil

from runner.errors import ConfigurationError
from runner.protocol.auth import AuthConfig
from runner.registries.etcd_client import parse_endpoints
from runner.spec.agentdef import DEFINITION_ENV, agentdef_to_data
from runner.spec.models import AgentTemplate, Pool
from runner.warm.state import remove_state, state_path, write_state

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Slot:
    """One warm agent: its template, its id, its server process."""

    template: AgentTemplate
    id: str
    proc: subprocess.Popen[bytes] | None = None
    endpoint: str = ""
    ready: bool = False
    restarts: int = 0  # after it died
    replaced: int = 0  # single-use, after a task
    log: IO[bytes] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, pool: Pool, state_dir: Path, interval: float = 0.5, grace: float = 5.0,
                 environ: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.state_dir = Path(state_dir)
        self.interval = interval
        self.grace = grace
        self.environ = dict(os.environ if environ is None else environ)
        self.etcd = next((r.options for r in pool.registries if r.type == "etcd"), None)
        templates = {t.name: t for t in pool.templates}
        unknown = sorted(set(pool.warm_pool) - set(templates))
        if unknown:
            raise ConfigurationError(f"warmPool names unknown template(s): {', '.join(unknown)}")
        self.slots = [Slot(template=templates[name], id=f"{pool.name}-{name}-{i}")
                      for name, count in pool.warm_pool.items() for i in range(1, count + 1)]
        self.stopping = threading.Event()
        self.token = _token(pool, self.environ)  # the servers ask for the pool's token, and so for us

    # ------------------------------------------------------------ running
    def run(self) -> None:
        """Start every agent and keep them ready until ``stop()``; always cleans up."""
        try:
            while not self.stopping.is_set():
                self.tick()
                self.stopping.wait(self.interval)
        finally:
            self.shutdown()

    def tick(self) -> None:
        """One round: restart the dead, replace the used single-use ones, refresh the state."""
        for slot in self.slots:
            if self.stopping.is_set():
                return
            if slot.proc is None or slot.proc.poll() is not None:
                if slot.proc is not None:
                    slot.restarts += 1
                    log.warning("warm agent %s exited (%s); restarting", slot.id, slot.proc.returncode)
                self._start(slot)
                continue
            health = _get(slot.endpoint, "/health", self.token) or {}
            slot.ready = bool(health.get("healthy"))
            if slot.template.definition.metadata.get("singleUse") and slot.ready and not health.get("activeTasks"):
                metrics = _get(slot.endpoint, "/metrics", self.token) or {}
                if metrics.get("messageCount"):  # used once: a fresh one takes its place
                    slot.replaced += 1
                    self._stop(slot, grace=self.grace)
                    self._start(slot)
        self.write()

    def stop(self) -> None:
        self.stopping.set()

    def write(self) -> None:
        agents = []
        for s in self.slots:
            d = s.template.definition
            agents.append({"id": s.id, "name": s.id, "template": s.template.name, "type": d.type,
                           "capabilities": list(d.capabilities), "expertise": dict(d.expertise),
                           "endpoint": s.endpoint, "pid": s.proc.pid if s.proc else 0, "ready": s.ready,
                           "restarts": s.restarts, "replaced": s.replaced})
        write_state(self.state_dir, self.pool.name, {
            "pool": self.pool.name, "source": self.pool.source, "supervisor": os.getpid(),
            "registry": "etcd" if self.etcd is not None else "file", "updatedAt": time.time(),
            "agents": agents})

    # ------------------------------------------------------------ processes
    def _start(self, slot: Slot) -> None:
        port = _free_port()
        slot.endpoint, slot.ready = f"http://127.0.0.1:{port}", False
        logs = state_path(self.state_dir, self.pool.name).with_suffix("")
        logs.mkdir(parents=True, exist_ok=True)
        if slot.log is not None:
            slot.log.close()
        slot.log = open(logs / f"{slot.id}.log", "ab")  # noqa: SIM115 - kept open while it runs
        env = {**self.environ, **self._agent_env(slot), "RUNNER_WARM_POOL": self.pool.name,
               "RUNNER_AGENT_ID": slot.id, DEFINITION_ENV: self._definition(slot)}
        if self.token:
            env["RUNNER_AGENT_TOKEN"] = self.token
        slot.proc = subprocess.Popen(self._argv(slot, port), stdin=subprocess.DEVNULL, stdout=slot.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def _agent_env(self, slot: Slot) -> dict[str, str]:
        """The template's ``env`` and its resolved credentials, for the server to hand on.

        The server gives its agent a minimal environment: credentials reach the agent by name
        (``_definition`` names them); a credential whose variable is unset is left out."""
        d = slot.template.definition
        values = dict(d.env)
        values.update({name: self.environ[ref] for name, ref in d.credentials.items() if ref in self.environ})
        return values

    def _definition(self, slot: Slot) -> str:
        """The template's whole definition for its server (``$RUNNER_AGENT_DEFINITION``, not an
        argument: ``ps`` shows none of it), credentials by the names the server's environment
        holds them under (``_agent_env``)."""
        d = slot.template.definition
        seen = replace(d, credentials={name: name for name, ref in d.credentials.items() if ref in self.environ})
        return json.dumps(agentdef_to_data(seen), default=str)

    def _argv(self, slot: Slot, port: int) -> list[str]:
        argv = [sys.executable, "-m", "runner", "agent", "serve", "--id", slot.id, "--name", slot.id,
                "--http", f"127.0.0.1:{port}"]
        if self.etcd is not None:
            argv += ["--register", ",".join(parse_endpoints(self.etcd.get("endpoints", "http://127.0.0.1:2379")))]
            if self.etcd.get("prefix"):
                argv += ["--register-prefix", str(self.etcd["prefix"])]
        return argv

    def _stop(self, slot: Slot, grace: float) -> None:
        proc = slot.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()  # the server deregisters, drains and exits
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
        slot.ready = False

    def shutdown(self) -> None:
        """Stop every agent (SIGTERM, then SIGKILL after ``grace``) and remove the state file."""
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.terminate()
        deadline = time.monotonic() + self.grace
        for slot in self.slots:
            if slot.proc is not None:
                try:
                    slot.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _kill_group(slot.proc)
            if slot.log is not None:
                slot.log.close()
        remove_state(self.state_dir, self.pool.name)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and every process under it (its agent runs in a PTY session of its own)."""
    try:
        victims = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        victims = []
    for victim in victims:
        try:
            victim.kill()
        except psutil.Error:
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(pool: Pool, environ: dict[str, str]) -> str | None:
    """The pool's bearer token (``auth``; a tokenFile is relative to the pool file)."""
    auth = AuthConfig.from_pool(pool.auth, environ, Path(pool.source).parent)
    return auth.token if auth is not None else None


def _get(endpoint: str, path: str, token: str | None = None) -> dict[str, Any] | None:
    """The server's JSON reply to GET ``path`` (also on 503: unhealthy), None when it does not answer."""
    try:
        request = urllib.request.Request(endpoint + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(request, timeout=2.0) as response:  # noqa: S310 - our own URL
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        try:
            return dict(json.loads(exc.read()))
        except ValueError:
            return None
        finally:
            exc.close()
    except (OSError, ValueError):
        return None
