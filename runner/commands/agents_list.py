"""``runner agents list [--pool POOL] [--etcd URL] [--capability X]...``: what is registered now.

Lists the pool's static agents and every agent its registries know (etcd, env, ...), plus
the agents of an etcd given with ``--etcd`` (no pool needed). Exit codes: 0 listed (even
none); 2 bad usage or pool; 3 a registry cannot be reached (the message names it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import click

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import EXIT_OK, UsageError
from runner.plugins import load
from runner.registries import REGISTRIES
from runner.spec import load_pool
from runner.spec.models import Pool, RegistryConfig

COLUMNS = ("ID", "NAME", "TYPE", "ENDPOINT", "CAPABILITIES", "HEALTHY", "SOURCE")


def _healthy(agent: AgentInfo) -> str:
    status = agent.metadata.get("status")
    if isinstance(status, dict) and "healthy" in status:
        return (
            "yes"
            if status["healthy"]
            else "no" + (f" ({status['message']})" if status.get("message") else "")
        )
    return "-"


def _row(agent: AgentInfo) -> tuple[str, ...]:
    endpoint = agent.endpoint or "(spawned)"
    caps = ",".join(agent.capabilities) or "-"
    return (agent.id, agent.name, agent.type, endpoint, caps, _healthy(agent), agent.source)


def render_table(agents: Sequence[AgentInfo]) -> str:
    """Agents as an aligned text table with a header line."""
    rows = [COLUMNS, *(_row(a) for a in agents)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def collect(pool_path: Path | None, etcd: str | None, prefix: str | None, timeout: float) -> list[AgentInfo]:
    """Every agent the pool (its static agents and registries) and ``etcd`` know, by id."""
    if pool_path is None and etcd is None:
        raise UsageError("agents list: give --pool POOL or --etcd URL")
    if pool_path is not None:
        pool = load_pool(pool_path)
    else:
        pool = Pool(name="--etcd")
    configs = list(pool.registries)
    if etcd is not None:
        options: dict[str, object] = {"endpoints": etcd.split(","), "timeout": timeout}
        if prefix:
            options["prefix"] = prefix
        configs.append(RegistryConfig(type="etcd", options=options))
    found = [_static(a) for a in pool.agents]
    ctx = RunContext()
    for config in configs:
        registry = load("registry", REGISTRIES, config.type)(ctx, pool, config.options)
        try:
            found += registry.all_agents()  # also those that report themselves unhealthy
        finally:
            registry.close()
    return sorted(found, key=lambda a: (a.id, a.source))


def _static(agent) -> AgentInfo:
    d = agent.definition
    return AgentInfo(
        id=agent.id, name=agent.name, type=d.type, capabilities=d.capabilities, expertise=d.expertise,
        endpoint=agent.endpoint, definition=d, metadata=d.metadata, source="static",
    )  # fmt: skip


def list_agents(
    pool: Path | None,
    etcd: str | None,
    capabilities: Sequence[str],
    *,
    prefix: str | None = None,
    timeout: float = 5.0,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Print the agents that have every one of ``capabilities``; the exit code."""
    agents = [a for a in collect(pool, etcd, prefix, timeout) if a.has(list(capabilities))]
    if as_json:
        data = [
            {"id": a.id, "name": a.name, "type": a.type, "endpoint": a.endpoint,
             "capabilities": list(a.capabilities), "expertise": dict(a.expertise), "source": a.source,
             "status": a.metadata.get("status")}
            for a in agents
        ]  # fmt: skip
        click.echo(json.dumps(data, indent=2), file=out)
    elif agents:
        click.echo(render_table(agents), file=out)
    else:
        click.echo(
            "no agents registered" + (" with " + ", ".join(capabilities) if capabilities else ""), file=out
        )
    return EXIT_OK


@click.command("list")
@click.option("--pool", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Pool file.")
@click.option(
    "--etcd", metavar="URL[,URL]", help="An etcd to list directly (etcd://host:port or http://...)."
)
@click.option("--prefix", metavar="KEY", help="Key prefix for --etcd (default /runner/agents/).")
@click.option(
    "--capability", "capabilities", multiple=True, metavar="X", help="Only agents with X (repeatable)."
)
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds per etcd request.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def list_command(
    pool: Path | None, etcd: str | None, prefix: str | None, capabilities: tuple[str, ...], timeout: float,
    as_json: bool,
) -> int:  # fmt: skip
    """List the agents registered now (static, env, etcd)."""
    return list_agents(pool, etcd, capabilities, prefix=prefix, timeout=timeout, as_json=as_json)
