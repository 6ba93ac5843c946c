"""``runner plan``: show the compiled DAG and the agents it would use; starts nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from runner import api
from runner.commands.common import frozen_option, load_inputs, load_pattern_arg, load_pool_arg
from runner.observe.estimate import describe, from_cassette, from_runs
from runner.plan.render import FORMATS, render
from runner.sources.pins import pinned


def plan(pattern_path: str, pool_path: str | None, inputs: Sequence[str], input_files: Sequence[Path],
         fmt: str, out: TextIO, replay: Path | None = None, state_dir: Path = Path(".runner")) -> int:
    pattern = load_pattern_arg(pattern_path)
    pool = load_pool_arg(pool_path)
    values = load_inputs(pattern, inputs, input_files)
    text = render(api.plan(pattern, pool, values), fmt)
    est = _estimate(pattern, replay, state_dir) if fmt in ("text", "json") else None
    if est is not None and fmt == "json":
        doc = json.loads(text)
        doc["estimate"] = est.as_dict()
        text = json.dumps(doc, indent=2) + "\n"
    elif est is not None:
        text += describe(est, pattern.budget) + "\n"
    out.write(text)
    return 0


def _estimate(pattern: Any, replay: Path | None, state_dir: Path) -> Any:
    """From the cassette when one is given, else from past runs of the pattern (None: no source)."""
    return from_cassette(replay, pattern) if replay is not None else from_runs(state_dir, pattern)


@click.command("plan")
@click.argument("pattern")
@click.option("--pool", "pool_path", metavar="POOL", help="Pool file (default: the embedded local pool).")
@click.option("--input", "-i", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value (repeatable).")
@click.option("--input-file", "input_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--replay", type=click.Path(path_type=Path, dir_okay=False),
              help="Estimate the run's cost from this cassette (else from past runs of the pattern).")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where past runs' journals are (for the estimate).")
@frozen_option
def command(pattern: str, pool_path: str | None, inputs: tuple[str, ...], input_files: tuple[Path, ...],
            fmt: str, replay: Path | None, state_dir: Path, frozen: bool) -> int:
    """Show how PATTERN would run with a pool, without starting anything.

    With runner.lock next to PATTERN, every source it reaches must match its pins."""
    with pinned(pattern, frozen):
        return plan(pattern, pool_path, inputs, input_files, fmt, sys.stdout, replay, state_dir)
