"""``runner gc``: remove what runs that are no longer alive left behind (every runtime's ``gc``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import click

from runner.commands.common import load_pool_arg
from runner.journal import UNFINISHED, list_runs, mark_killed
from runner.plugins import load
from runner.runtimes import RUNTIMES
from runner.runtimes.base import GcRequest, Leftover
from runner.workspace.gc import gc_workspaces
from runner.workspace.scratch import sweep


def gc(client: str | None, dry_run: bool, all_hosts: bool, run_id: str | None, out: TextIO,
       pool_path: str | None = None, state_dir: Path = Path(".runner")) -> int:
    """One line per removed (or, with ``dry_run``, removable) leftover; 1 if any removal failed.

    Asks every runtime of ``runner.runtimes.RUNTIMES`` (its ``gc``, with the options of the
    pool's entry for it when ``pool_path`` names one) for the leftovers of dead runs; a runtime
    that cannot look (no docker engine) prints one ``NAME: skipped (why)`` line. Then removes
    the workspaces (git worktrees, runner branches, copies) of dead runs, the task directories
    of dead ``runner agent serve`` processes (``$TMPDIR/runner-workspace-*``), and marks
    every unfinished run of ``state_dir`` (its runner died: nobody holds its journal's lock) as
    ``killed`` in its journal.
    """
    configs = {}
    if pool_path:
        configs = {r.type: r.options for r in reversed(load_pool_arg(pool_path).runtimes)}  # first entry wins
    environ = dict(os.environ, **({"RUNNER_DOCKER_CLIENT": client} if client else {}))
    request = GcRequest(state_dir=state_dir, run_id=run_id, dry_run=dry_run, all_hosts=all_hosts, environ=environ)
    lines: list[str] = []
    for name in RUNTIMES:
        result = load("runtime", RUNTIMES, name).gc(configs.get(name), request)
        if result.skipped:
            out.write(f"{name}: skipped ({result.skipped})\n")
        lines += [left.line() for left in result.leftovers]
    lines += [left.line() for left in _workspaces(request)]
    if run_id is None:  # an agent server's task directories belong to no run of this state dir
        lines += [left.line() for left in sweep(dry_run=dry_run)]
    lines += [left.line() for left in _mark_killed(state_dir, run_id, dry_run)]
    for line in lines:
        out.write(line + "\n")
    if not lines:
        out.write("nothing to remove\n")
    return 1 if any("\tFAILED" in line for line in lines) else 0


def _workspaces(request: GcRequest) -> list[Leftover]:
    return gc_workspaces(request.state_dir, dry_run=request.dry_run, run_id=request.run_id)


def _mark_killed(state_dir: Path, run_id: str | None, dry_run: bool) -> list[Leftover]:
    """The unfinished runs of ``state_dir`` (only ``run_id`` when given), marked ``killed``."""
    out = []
    for run in list_runs(state_dir):
        if run.status != UNFINISHED or run_id not in (None, run.run_id):
            continue
        if dry_run:
            out.append(Leftover(kind="journal", name=str(run.dir), run_id=run.run_id, status="would mark killed"))
        elif mark_killed(run.dir):
            out.append(Leftover(kind="journal", name=str(run.dir), run_id=run.run_id, status="marked killed"))
    return out


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--all-hosts", is_flag=True,
              help="Also remove resources started from other hosts (their runs cannot be checked).")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only this run's resources.")
@click.option("--client", metavar="PATH", help="docker client binary (env RUNNER_DOCKER_CLIENT).")
@click.option("--pool", "pool_path", metavar="POOL",
              help="Sweep with this pool's runtime settings (a kubernetes runtime's say which cluster).")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where run journals are (tells which runs are alive).")
def command(dry_run: bool, all_hosts: bool, run_id: str | None, client: str | None, pool_path: str | None,
            state_dir: Path) -> int:
    """Remove processes, containers, volumes, networks (and, with --pool, pods and secrets) of dead runs.

    Runner labels all of them `runner.managed=true` with the run id and its owner (host, pid,
    process start time); a run is alive while that process exists on this host.
    """
    return gc(client, dry_run, all_hosts, run_id, sys.stdout, pool_path, state_dir)
