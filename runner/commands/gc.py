"""``runner gc``: remove what runs that are no longer alive left behind (by label)."""

from __future__ import annotations

import sys
from typing import TextIO

import click


def gc(client: str | None, dry_run: bool, all_hosts: bool, run_id: str | None, out: TextIO) -> int:
    """One line per removed (or, with ``dry_run``, removable) resource; 1 if any removal failed."""
    from runner.docker.client import client_path
    from runner.docker.gc import collect

    found = collect(client or client_path(), dry_run=dry_run, all_hosts=all_hosts, run_id=run_id)
    failed = 0
    for c in found:
        status = "would remove" if dry_run else ("removed" if c.removed else f"FAILED: {c.error}")
        failed += bool(c.error)
        out.write(f"{c.kind}\t{c.name}\trun {c.run_id or '?'}\t{status}\n")
    if not found:
        out.write("nothing to remove\n")
    return 1 if failed else 0


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--all-hosts", is_flag=True,
              help="Also remove resources started from other hosts (their runs cannot be checked).")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only this run's resources.")
@click.option("--client", metavar="PATH", help="docker client binary (env RUNNER_DOCKER_CLIENT).")
def command(dry_run: bool, all_hosts: bool, run_id: str | None, client: str | None) -> None:
    """Remove containers, volumes and networks of runs that are no longer alive.

    Runner labels all of them `runner.managed=true` with the run id and its owner (host, pid,
    process start time); a run is alive while that process exists on this host.
    """
    from runner.cli import run_command

    run_command(gc, client, dry_run, all_hosts, run_id, sys.stdout)
