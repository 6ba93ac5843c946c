"""``runner plan``: show the compiled DAG and the agents it would use; starts nothing."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import click

from runner.commands.common import frozen_option, load_inputs, load_pattern_arg, load_pool_arg
from runner.plan.render import FORMATS


def plan(pattern_path: str, pool_path: str | None, inputs: Sequence[str], input_files: Sequence[Path],
         fmt: str, out: TextIO) -> int:
    from runner import api
    from runner.plan.render import render

    pattern = load_pattern_arg(pattern_path)
    pool = load_pool_arg(pool_path)
    values = load_inputs(pattern, inputs, input_files)
    out.write(render(api.plan(pattern, pool, values), fmt))
    return 0


@click.command("plan")
@click.argument("pattern")
@click.option("--pool", "pool_path", metavar="POOL", help="Pool file (default: the embedded local pool).")
@click.option("--input", "-i", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value (repeatable).")
@click.option("--input-file", "input_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@frozen_option
def command(pattern: str, pool_path: str | None, inputs: tuple[str, ...], input_files: tuple[Path, ...],
            fmt: str, frozen: bool) -> int:
    """Show how PATTERN would run with a pool, without starting anything.

    With runner.lock next to PATTERN, every source it reaches must match its pins."""
    from runner.sources.pins import pinned

    with pinned(pattern, frozen):
        return plan(pattern, pool_path, inputs, input_files, fmt, sys.stdout)
