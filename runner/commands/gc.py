"""``runner gc``: remove what runs that are no longer alive left behind (by label)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click


def gc(client: str | None, dry_run: bool, all_hosts: bool, run_id: str | None, out: TextIO,
       pool_path: str | None = None, state_dir: Path = Path(".runner")) -> int:
    """One line per removed (or, with ``dry_run``, removable) resource; 1 if any removal failed.

    Sweeps local agent processes of dead runs (found by the run id in their environment, the
    runs' journals in ``state_dir`` telling which runs are alive), docker (when an engine
    answers) and the Kubernetes runtimes of ``pool_path``.
    """
    from runner.execute.gc_local import gc_local

    lines: list[str] = []
    for p in gc_local([state_dir], dry_run=dry_run, run_id=run_id):
        status = "would kill" if dry_run else ("killed" if p.killed else "FAILED: still alive")
        lines.append(f"process\t{p.pid} (agent {p.agent_id})\trun {p.run_id}\t{status}")
    lines += _docker(client, dry_run, all_hosts, run_id, out)
    if pool_path:
        from runner.commands.common import load_pool_arg
        from runner.runtimes.k8s_gc import gc_kubernetes

        for runtime in load_pool_arg(pool_path).runtimes:
            if runtime.type == "kubernetes":
                lines += gc_kubernetes(runtime.options, run_id=run_id, dry_run=dry_run, all_hosts=all_hosts)
    for line in lines:
        out.write(line + "\n")
    if not lines:
        out.write("nothing to remove\n")
    return 1 if any("FAILED" in line for line in lines) else 0


def _docker(client: str | None, dry_run: bool, all_hosts: bool, run_id: str | None, out: TextIO) -> list[str]:
    from runner.docker.client import client_path, engine_problem
    from runner.docker.gc import collect

    path = client or client_path()
    problem = engine_problem(path, timeout=5.0)
    if problem is not None:
        out.write(f"docker: skipped ({problem})\n")
        return []
    lines = []
    for c in collect(path, dry_run=dry_run, all_hosts=all_hosts, run_id=run_id):
        status = "would remove" if dry_run else ("removed" if c.removed else f"FAILED: {c.error}")
        lines.append(f"{c.kind}\t{c.name}\trun {c.run_id or '?'}\t{status}")
    return lines


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--all-hosts", is_flag=True,
              help="Also remove resources started from other hosts (their runs cannot be checked).")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only this run's resources.")
@click.option("--client", metavar="PATH", help="docker client binary (env RUNNER_DOCKER_CLIENT).")
@click.option("--pool", "pool_path", metavar="POOL", help="Also sweep the Kubernetes runtimes of this pool.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where run journals are (tells which runs are alive).")
def command(dry_run: bool, all_hosts: bool, run_id: str | None, client: str | None, pool_path: str | None,
            state_dir: Path) -> None:
    """Remove containers, volumes, networks (and, with --pool, pods and secrets) of dead runs.

    Runner labels all of them `runner.managed=true` with the run id and its owner (host, pid,
    process start time); a run is alive while that process exists on this host.
    """
    from runner.cli import run_command

    run_command(gc, client, dry_run, all_hosts, run_id, sys.stdout, pool_path, state_dir)
