"""``runner agent serve``: one agent in its PTY, served over HTTP and gRPC until SIGTERM.

This is what containers and pods run. It prints ``listening http=URL grpc=URL`` as its first
stdout line (ports chosen when 0 is asked), starts the agent in the background (``/health``
says ``starting`` / ``ready`` / ``loginRequired`` meanwhile) and on SIGTERM or SIGINT stops
taking tasks, lets the running one finish within the drain timeout (else cancels it), stops
the agent and exits 0.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.agents.types import AGENT_TYPES
from runner.context import EventBus, RunContext
from runner.errors import ConfigurationError, UsageError
from runner.plugins import load
from runner.protocol.auth import read_token_file
from runner.protocol.http_server import HttpAgentServer, server_tls
from runner.protocol.registration import mirror_health, start_registration
from runner.protocol.service import AgentService
from runner.runtimes.local import LocalRuntime
from runner.spec.models import AgentDef
from runner.workspace.scratch import sweep
from runner.workspace.transfer import LIMIT

if TYPE_CHECKING:
    from runner.protocol.registration import RegisterOptions

TOKEN_ENV = "RUNNER_AGENT_TOKEN"
HEALTH_POLL = 0.5  # s between checks of the agent's health for etcd (a state change publishes at once)


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    definition: AgentDef
    agent_id: str
    name: str = ""
    http: str | None = None  # host:port
    grpc: str | None = None  # host:port
    token_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    drain_timeout: float = 10.0
    max_tasks: int | None = None
    runtime_options: dict[str, Any] = field(default_factory=dict)
    register: RegisterOptions | None = None  # --register etcd://...: announce the agent in etcd
    insecure: bool = False  # --insecure: serve without a token on a non-loopback address
    workspaces: str | None = None  # a directory tasks' `workspace` may be under (the docker runtime's mount)
    max_workspace: int = LIMIT  # bytes of a workspace a task may send (--max-workspace)


def split_address(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"{what}: expected HOST:PORT, got `{value}`")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_handle(opts: ServeOptions, bus: EventBus | None = None) -> AgentHandle:
    """The agent's handle from the local runtime (state ``spawned``); checks the definition first."""
    problems = load("agent type", AGENT_TYPES, opts.definition.type)().validate(opts.definition)
    if problems:
        raise UsageError(f"agent {opts.agent_id}: " + "; ".join(problems))
    ctx = RunContext(bus=bus or EventBus(), workdir=Path(opts.definition.workdir or Path.cwd()))
    # The agent runs here, in the server's local runtime, whichever runtime started the server: a
    # pool agent with `runtime: kubernetes` (or docker) reaches its pod with that key still set.
    definition = replace(opts.definition, runtime=None)
    info = AgentInfo(id=opts.agent_id, name=opts.name or opts.agent_id, type=definition.type,
                     capabilities=definition.capabilities, expertise=definition.expertise,
                     definition=definition, source="direct")
    return LocalRuntime(ctx, opts.runtime_options).spawn(info)


def type_concurrency(definition: AgentDef) -> int:
    """Tasks one agent of this type takes at once, as the type declares (``command``: 1)."""
    return max(1, load("agent type", AGENT_TYPES, definition.type).capabilities.concurrency)


def resolve_token(opts: ServeOptions, environ: dict[str, str]) -> str | None:
    if opts.token_file:
        return read_token_file(opts.token_file, "--token-file")
    return environ.get(TOKEN_ENV) or None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``0.0.0.0`` and ``::`` are not)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def check_open_access(opts: ServeOptions) -> None:
    """Without a token anyone who reaches the port runs commands: only loopback, or ``--insecure``."""
    exposed = [a for flag, a in (("--http", opts.http), ("--grpc", opts.grpc))
               if a and not is_loopback(split_address(a, flag)[0])]
    if not exposed:
        return
    if not opts.insecure:
        raise UsageError(f"refusing to serve {', '.join(exposed)} without a token: anyone who reaches it "
                         f"runs commands; set {TOKEN_ENV} or --token-file, bind 127.0.0.1, or pass "
                         f"--insecure")
    print(f"warning: serving {', '.join(exposed)} WITHOUT a token (--insecure): anyone who reaches "
          f"it runs commands as this user", file=sys.stderr)


def serve(opts: ServeOptions, environ: dict[str, str], out: IO[str] = sys.stdout,
          stop: threading.Event | None = None) -> int:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set); returns the exit code."""
    if not (opts.http or opts.grpc):
        raise UsageError("give --http HOST:PORT, --grpc HOST:PORT or both")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    token = resolve_token(opts, environ)
    if token is None:
        check_open_access(opts)
    max_tasks = opts.max_tasks or type_concurrency(opts.definition)
    sweep()  # task directories of agent servers that died (SIGKILL) before removing them
    wake = threading.Event()  # the agent's state changed (or stop): publish its health now
    bus = EventBus()
    for name in ("state_changed", "login_required"):
        bus.subscribe(lambda _event: wake.set(), name)
    service = AgentService(build_handle(opts, bus), runtime_name="local", max_tasks=max_tasks,
                           workspaces=opts.workspaces, max_workspace=opts.max_workspace)
    http_server = grpc_server = None
    if opts.http:
        host, port = split_address(opts.http, "--http")
        tls = server_tls(opts.tls_cert, opts.tls_key) if opts.tls_cert and opts.tls_key else None
        http_server = HttpAgentServer(service, host, port, token=token, tls=tls).start()
    if opts.grpc:
        try:  # grpc only when asked for
            from runner.protocol.grpc_server import GrpcAgentServer  # lazy: optional extra [grpc]
        except ModuleNotFoundError as exc:
            raise ConfigurationError("--grpc needs `grpcio` and `protobuf`: pip install 'runner[grpc]'") from exc

        host, port = split_address(opts.grpc, "--grpc")
        pem = ((Path(opts.tls_cert).read_bytes(), Path(opts.tls_key).read_bytes())
               if opts.tls_cert and opts.tls_key else None)
        grpc_server = GrpcAgentServer(service, host, port, token=token, tls=pem).start()
    urls = [f"http={http_server.url}"] if http_server else []
    urls += [f"grpc={grpc_server.url}"] if grpc_server else []
    registration = None
    if opts.register is not None:
        try:  # registered before `listening`: whoever waits for that line finds it in etcd
            registration = start_registration(opts.register, service.handle.info,
                                              dict(u.split("=", 1) for u in urls), service.health(), environ)
        except BaseException:
            for server in (grpc_server, http_server):
                if server is not None:
                    server.stop(grace=0)
            raise
    out.write("listening " + " ".join(urls) + "\n")
    out.flush()

    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: _set(stop, wake))
    threading.Thread(target=service.start_agent, name="agent-start", daemon=True).start()
    try:
        next_check = time.monotonic() + HEALTH_POLL  # registered with its health of then
        while not stop.is_set():
            woken = wake.wait(0.5)  # a caller's `stop` is looked at this often
            wake.clear()
            if registration is not None and not stop.is_set() and (woken or time.monotonic() >= next_check):
                # at once on a state change: a warm agent is selectable as soon as it is ready
                mirror_health(registration, service.health())
                next_check = time.monotonic() + HEALTH_POLL
        if registration is not None:
            registration.stop()  # deregister first: nobody should pick an agent that is leaving
        service.drain(opts.drain_timeout)
        if grpc_server is not None:
            grpc_server.stop(grace=2.0)
        if http_server is not None:
            http_server.stop(grace=2.0)
    finally:
        if registration is not None:
            registration.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _set(*events: threading.Event) -> None:
    for e in events:
        e.set()
