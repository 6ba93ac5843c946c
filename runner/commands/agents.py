"""``runner agents check POOL``: health of every agent of a pool that runs behind an endpoint."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from runner.agents.model import AgentInfo
from runner.context import EventBus, RunContext
from runner.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, AgentFailure
from runner.plugins import load
from runner.protocol.auth import AuthConfig
from runner.protocol.connect import connect, display_endpoint
from runner.registries import REGISTRIES
from runner.spec import load_pool


@dataclass(frozen=True, kw_only=True)
class CheckRow:
    id: str
    endpoint: str
    protocol: str
    healthy: bool
    reachable: bool
    message: str
    latency_ms: float


def check_agent(info: AgentInfo, auth: AuthConfig | None) -> CheckRow:
    """One health call; never raises."""
    endpoint = info.endpoint or ""
    protocol = endpoint.partition("://")[0]
    started = time.perf_counter()
    try:
        handle = connect(info, EventBus(), auth)
        reply = handle.health_reply()
        healthy, reachable, message = bool(reply.get("healthy")), True, str(reply.get("message", ""))
    except AgentFailure as exc:
        healthy, reachable, message = False, False, str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad entry must not hide the others
        healthy, reachable, message = False, False, f"{type(exc).__name__}: {exc}"
    latency = (time.perf_counter() - started) * 1000
    try:
        handle.stop()
    except Exception:  # noqa: BLE001
        pass
    return CheckRow(id=info.id, endpoint=display_endpoint(endpoint), protocol=protocol, healthy=healthy,
                    reachable=reachable, message=message, latency_ms=latency)


def endpoint_agents(pool_path: str) -> tuple[list[AgentInfo], AuthConfig | None]:
    """The pool's static agents and env-registry agents that have an endpoint, and its auth."""
    pool = load_pool(pool_path)
    ctx = RunContext()
    infos = [AgentInfo(id=a.id, name=a.name, type=a.definition.type, capabilities=a.definition.capabilities,
                       endpoint=a.endpoint, definition=a.definition, source="static")
             for a in pool.agents if a.endpoint]
    for reg in pool.registries:
        if reg.type != "env":
            continue
        registry = load("registry", REGISTRIES, reg.type)(ctx, pool, reg.options)
        try:
            infos += [i for i in registry.agents() if i.endpoint]
        finally:
            registry.close()
    auth = AuthConfig.from_pool(pool.auth, os.environ, Path(pool_path).resolve().parent)
    return infos, auth


def check_command(pool_path: str) -> int:
    """Print one row per endpoint agent; exit 0 all healthy, 3 any unreachable, 1 any unhealthy."""
    infos, auth = endpoint_agents(pool_path)
    if not infos:
        click.echo(f"{pool_path}: no agent with an endpoint")
        return EXIT_OK
    with ThreadPoolExecutor(max_workers=min(16, len(infos))) as pool:
        rows = list(pool.map(lambda i: check_agent(i, auth), infos))
    click.echo(render_table(rows))
    if any(not r.reachable for r in rows):
        return EXIT_INFRA
    return EXIT_OK if all(r.healthy for r in rows) else EXIT_FAILED


def render_table(rows: list[CheckRow]) -> str:
    header = ("ID", "ENDPOINT", "PROTOCOL", "HEALTHY", "LATENCY", "MESSAGE")
    body = [(r.id, r.endpoint, r.protocol, "yes" if r.healthy else "no", f"{r.latency_ms:.1f}ms",
             r.message) for r in rows]
    widths = [max(len(str(x[i])) for x in [header, *body]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *body]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


@click.group("agents")
def agents_group() -> None:
    """Inspect the agents of a pool, or of a run (`status`)."""


@agents_group.command("check")
@click.argument("pool", type=click.Path(exists=True, dir_okay=False))
def check_cli(pool: str) -> int:
    """Call the health check of every agent of POOL that has an endpoint; print a table."""
    return check_command(pool)


# `runner agents list` lives in its own module (it reads etcd and every other registry).
from runner.commands.agents_list import list_command  # noqa: E402

agents_group.add_command(list_command)

# `runner agents doctor`: the agent CLIs (claude, codex, gemini, aider) installed and logged in?
from runner.commands.doctor import doctor  # noqa: E402

agents_group.add_command(doctor)

# `runner agents status` reads a run's journal.
from runner.commands.agents_status import status_cli  # noqa: E402

agents_group.add_command(status_cli)
