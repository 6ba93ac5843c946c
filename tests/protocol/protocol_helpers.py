"""Real agent servers for the protocol tests: in-process (cheap) or as `runner agent serve`
subprocesses (when the test kills or signals the server). Agents are real programs in PTYs,
started by the real LocalRuntime. (A uniquely named module: tests import it by name.)"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from runner.agents.model import AgentInfo
from runner.context import EventBus
from runner.protocol.auth import AuthConfig
from runner.protocol.connect import connect
from runner.protocol.grpc_server import GrpcAgentServer
from runner.protocol.http_server import HttpAgentServer, server_tls
from runner.protocol.serve import ServeOptions, build_handle, type_concurrency
from runner.protocol.service import AgentService
from runner.spec.models import AgentDef
from tests.helpers.polling import poll as poll

PROGRAMS = Path(__file__).parent / "programs"
HELPERS = Path(__file__).parent.parent / "helpers" / "programs"
WORKER = (sys.executable, str(PROGRAMS / "worker.py"))
REPO = Path(__file__).parents[2]


@dataclass
class Served:
    service: AgentService
    urls: dict[str, str]
    token: str | None = None
    servers: list = field(default_factory=list)


@contextmanager
def served(definition: AgentDef | None = None, *, token: str | None = None, tls: tuple[Path, Path] | None = None,
           max_tasks: int | None = None, agent_id: str = "w1") -> Iterator[Served]:
    """Both servers in this process around one real local agent."""
    definition = definition or AgentDef(type="command", command=WORKER, capabilities=("code",))
    handle = build_handle(ServeOptions(definition=definition, agent_id=agent_id))
    service = AgentService(handle, max_tasks=max_tasks or type_concurrency(definition))
    http_tls = server_tls(str(tls[0]), str(tls[1])) if tls else None
    pem = (tls[0].read_bytes(), tls[1].read_bytes()) if tls else None
    http = HttpAgentServer(service, "127.0.0.1", 0, token=token, tls=http_tls).start()
    grpc = GrpcAgentServer(service, "127.0.0.1", 0, token=token, tls=pem).start()
    service.start_agent()
    try:
        yield Served(service, {"http": http.url, "grpc": grpc.url}, token, [http, grpc])
    finally:
        service.drain(0.5)
        grpc.stop(0.2)
        http.stop(0.2)


def make_remote(endpoint: str, token: str | None = None, ca_file: str | None = None,
                agent_id: str = "w1"):  # type: ignore[no-untyped-def]
    """A client handle (not started) for the agent at ``endpoint``; the caller stops it."""
    info = AgentInfo(id=agent_id, name=agent_id, type="command", endpoint=endpoint, source="static")
    auth = AuthConfig(token=token, ca_file=ca_file) if (token or ca_file) else None
    return connect(info, EventBus(), auth)


@dataclass
class Proc:
    proc: subprocess.Popen
    urls: dict[str, str]


@contextmanager
def serve_process(*args: str, env: dict[str, str] | None = None) -> Iterator[Proc]:
    """``runner agent serve ARGS`` as a subprocess; waits for its ``listening`` line."""
    cmd = [sys.executable, "-m", "runner", "agent", "serve", "--id", "w1",
           "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=REPO)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20.0)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening "):
            proc.kill()
            raise AssertionError(f"server did not start: {line!r} {proc.stderr.read()}")
        urls = dict(part.split("=", 1) for part in line.split()[1:])
        yield Proc(proc, urls)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
