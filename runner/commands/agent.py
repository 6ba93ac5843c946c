"""``runner agent serve``: wrap one agent in its PTY and serve it over HTTP and/or gRPC.

The token is read from ``RUNNER_AGENT_TOKEN`` or ``--token-file`` (never an argument, so it
never shows in ``ps``).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.errors import Diagnostic, SpecError, UsageError
from runner.observe import trace
from runner.protocol.registration import RegisterOptions
from runner.protocol.serve import ServeOptions, serve
from runner.spec.agentdef import DEFINITION_ENV, agentdef_from_data
from runner.spec.units import parse_duration
from runner.workspace.transfer import LIMIT, parse_size

if TYPE_CHECKING:
    from runner.spec.models import AgentDef

def definition_from_options(*, definition: str | None = None, agent_type: str | None = None,
                            capabilities: tuple[str, ...] = (), command: str | None = None,
                            argv: tuple[str, ...] = (), mode: str | None = None,
                            ready_pattern: str | None = None, input_mode: str | None = None,
                            workdir: str | None = None, pass_env: tuple[str, ...] = ()) -> AgentDef:
    """The agent definition ``runner agent serve`` was given: ``--definition`` (a pool file's
    agent keys as JSON, or ``@FILE`` holding them), the other options over it.

    ``pass_env``: names of the server's environment variables the agent program gets too (its
    environment is otherwise minimal); how credentials reach an agent in a container or pod.
    """
    if command and argv:
        raise UsageError("give the program either with --command or after `--`, not both")
    data = _definition_data(definition) if definition else {}
    flags = {"type": agent_type, "mode": mode, "input": input_mode, "readyPattern": ready_pattern,
             "workdir": workdir, "capabilities": list(capabilities) or None,
             "command": shlex.split(command) if command else list(argv) or None}
    data.update({k: v for k, v in flags.items() if v is not None})
    if pass_env:
        data["credentials"] = {**(data.get("credentials") or {}), **{n: {"env": n} for n in pass_env}}
    return agentdef_from_data(data, source="--definition")


def _definition_data(value: str) -> dict[str, Any]:
    text, source = value, "--definition"
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--definition {value}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError([Diagnostic(file=source, line=exc.lineno, col=exc.colno, path="$",
                                    message=f"invalid JSON: {exc.msg}")]) from exc
    if not isinstance(data, dict):
        raise SpecError([Diagnostic(file=source, line=0, col=0, path="$",
                                    message="expected a JSON object (an agent definition)")])
    return data


def serve_command(*, definition: str | None = None, agent_type: str | None, agent_id: str, name: str,
                  capabilities: tuple[str, ...], command: str | None, argv: tuple[str, ...],
                  mode: str | None, ready_pattern: str | None, input_mode: str | None, workdir: str | None,
                  http: str | None, grpc: str | None, token_file: str | None, tls_cert: str | None,
                  tls_key: str | None, drain_timeout: str, max_tasks: int | None, register: str | None = None,
                  register_prefix: str = "/runner/agents/", register_ttl: int = 10,
                  register_endpoint: str | None = None, pass_env: tuple[str, ...] = (),
                  insecure: bool = False, max_workspace: str | None = None) -> int:
    """Build the agent definition from the options (``definition_from_options``) and serve it;
    returns the exit code."""
    try:
        drain = parse_duration(drain_timeout)
    except ValueError as exc:
        raise UsageError(f"--drain-timeout: {exc}") from exc

    try:
        workspace_cap = parse_size(max_workspace, "--max-workspace") if max_workspace else LIMIT
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    registration = None
    if register:
        registration = RegisterOptions(endpoints=register, prefix=register_prefix, ttl=register_ttl,
                                       advertise=register_endpoint)

    spec = definition_from_options(definition=definition, agent_type=agent_type, capabilities=capabilities,
                                   command=command, argv=argv, mode=mode, ready_pattern=ready_pattern,
                                   input_mode=input_mode, workdir=workdir, pass_env=pass_env)
    opts = ServeOptions(definition=spec, agent_id=agent_id, name=name, http=http, grpc=grpc,
                        token_file=token_file, tls_cert=tls_cert, tls_key=tls_key,
                        drain_timeout=drain, max_tasks=max_tasks,
                        register=registration, insecure=insecure, max_workspace=workspace_cap)

    try:
        return serve(opts, dict(os.environ))
    finally:
        trace.shutdown()  # flush the OTLP batch of handle-task spans (a no-op when tracing is off)


@click.group("agent")
def agent_group() -> None:
    """Run one agent as a server (what containers and pods run)."""


@agent_group.command("serve", context_settings={"ignore_unknown_options": False})
@click.option("--definition", default=None, metavar="JSON|@FILE", envvar=DEFINITION_ENV, show_envvar=True,
              help="The agent definition: a pool file's agent keys as a JSON object (or a file holding one); "
                   "the options below override its keys.")
@click.option("--type", "agent_type", default=None, help="Agent type (default: command).")
@click.option("--id", "agent_id", required=True, help="Agent id reported by /health.")
@click.option("--name", default="", help="Display name (default: the id).")
@click.option("--capability", "capabilities", multiple=True, help="A capability (repeatable).")
@click.option("--command", default=None, help='Program and arguments as one string, e.g. "python3 a.py".')
@click.option("--mode", type=click.Choice(["per-task", "long-lived"]), default=None, help="(default: per-task)")
@click.option("--ready-pattern", default=None, help="Long-lived: regex of the ready prompt.")
@click.option("--input", "input_mode", type=click.Choice(["stdin", "argument"]), default=None,
              help="Per-task: how the task reaches the program (default: stdin).")
@click.option("--workdir", default=None, type=click.Path(file_okay=False), help="Agent working directory.")
@click.option("--http", default=None, metavar="HOST:PORT", help="Serve HTTP here (port 0: any free port).")
@click.option("--grpc", default=None, metavar="HOST:PORT", help="Serve gRPC here (port 0: any free port).")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False),
              help="File holding the bearer token (else $RUNNER_AGENT_TOKEN; none: no auth).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False), help="PEM certificate (TLS).")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False), help="PEM private key (TLS).")
@click.option("--drain-timeout", default="10s", show_default=True,
              help="On SIGTERM, how long the running task may take before it is cancelled.")
@click.option("--max-tasks", type=click.IntRange(min=1), default=None,
              help="Tasks taken at once (default: what the agent type declares; command: 1).")
@click.option("--register", default=None, metavar="etcd://HOST:PORT[,HOST:PORT]",
              help="Register the agent in etcd under a lease it keeps alive; deregister on stop.")
@click.option("--register-prefix", default="/runner/agents/", show_default=True, help="etcd key prefix.")
@click.option("--register-ttl", type=click.IntRange(min=1), default=10, show_default=True,
              help="Lease TTL in seconds: a dead server's key is gone this long after it died.")
@click.option("--register-endpoint", default=None, metavar="URL",
              help="Endpoint to publish (default: the --http URL, else the --grpc one).")
@click.option("--pass-env", "pass_env", multiple=True, metavar="NAME",
              help="Give the agent program this variable of the server's environment (repeatable).")
@click.option("--max-workspace", default=None, metavar="SIZE",
              help="Largest workspace a task may send, and change it may return (e.g. 256M; default 64M).")
@click.option("--insecure", is_flag=True,
              help="Serve without a token on a non-loopback address (refused otherwise).")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def serve_cli(**kwargs: Any) -> int:
    """Serve one agent over HTTP and/or gRPC until SIGTERM."""
    return serve_command(**kwargs)
