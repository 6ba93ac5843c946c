"""``runner agent serve``: wrap one agent in its PTY and serve it over HTTP and/or gRPC.

The token is read from ``RUNNER_AGENT_TOKEN`` or ``--token-file`` (never an argument, so it
never shows in ``ps``).
"""

from __future__ import annotations

import os
import re
import shlex

import click

from runner.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: str) -> float:
    """``10s`` / ``500ms`` / ``2m`` / ``10`` → seconds."""
    m = _DURATION.match(value)
    if not m:
        raise UsageError(f"`{value}` is not a duration (e.g. 10s, 500ms, 2m)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def serve_command(*, agent_type: str, agent_id: str, name: str, capabilities: tuple[str, ...],
                  command: str | None, argv: tuple[str, ...], mode: str, ready_pattern: str | None,
                  input_mode: str, workdir: str | None, http: str | None, grpc: str | None,
                  token_file: str | None, tls_cert: str | None, tls_key: str | None,
                  drain_timeout: str, max_tasks: int | None, register: str | None = None,
                  register_prefix: str = "/runner/agents/", register_ttl: int = 10,
                  register_endpoint: str | None = None, pass_env: tuple[str, ...] = (),
                  insecure: bool = False) -> int:
    """Build the agent definition from the options and serve it; returns the exit code.

    ``pass_env``: names of the server's environment variables the agent program gets too (its
    environment is otherwise minimal); how credentials reach an agent in a container or pod.
    """
    from runner.protocol.serve import ServeOptions, serve
    from runner.spec.models import AgentDef

    registration = None
    if register:
        from runner.protocol.registration import RegisterOptions

        registration = RegisterOptions(endpoints=register, prefix=register_prefix, ttl=register_ttl,
                                       advertise=register_endpoint)

    if command and argv:
        raise UsageError("give the program either with --command or after `--`, not both")
    program = tuple(shlex.split(command)) if command else tuple(argv)
    definition = AgentDef(type=agent_type, command=program, mode=mode, input=input_mode,
                          ready_pattern=ready_pattern, workdir=workdir, capabilities=capabilities,
                          credentials={n: n for n in pass_env})
    opts = ServeOptions(definition=definition, agent_id=agent_id, name=name, http=http, grpc=grpc,
                        token_file=token_file, tls_cert=tls_cert, tls_key=tls_key,
                        drain_timeout=parse_duration(drain_timeout), max_tasks=max_tasks,
                        register=registration, insecure=insecure)
    from runner.observe import trace

    try:
        return serve(opts, dict(os.environ))
    finally:
        trace.shutdown()  # flush the OTLP batch of handle-task spans (a no-op when tracing is off)


@click.group("agent")
def agent_group() -> None:
    """Run one agent as a server (what containers and pods run)."""


@agent_group.command("serve", context_settings={"ignore_unknown_options": False})
@click.option("--type", "agent_type", default="command", show_default=True, help="Agent type.")
@click.option("--id", "agent_id", required=True, help="Agent id reported by /health.")
@click.option("--name", default="", help="Display name (default: the id).")
@click.option("--capability", "capabilities", multiple=True, help="A capability (repeatable).")
@click.option("--command", default=None, help='Program and arguments as one string, e.g. "python3 a.py".')
@click.option("--mode", type=click.Choice(["per-task", "long-lived"]), default="per-task", show_default=True)
@click.option("--ready-pattern", default=None, help="Long-lived: regex of the ready prompt.")
@click.option("--input", "input_mode", type=click.Choice(["stdin", "argument"]), default="stdin",
              show_default=True, help="Per-task: how the task reaches the program.")
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
@click.option("--insecure", is_flag=True,
              help="Serve without a token on a non-loopback address (refused otherwise).")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def serve_cli(**kwargs: object) -> None:
    """Serve one agent over HTTP and/or gRPC until SIGTERM."""
    from runner.cli import run_command

    run_command(serve_command, **kwargs)
