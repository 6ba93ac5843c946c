"""``runner apply``: compile a pattern with a pool and run it."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from runner.commands.common import load_inputs, load_pattern_arg, load_pool_arg, summary_text
from runner.context import RunContext
from runner.errors import Interrupted, UsageError


def _raise_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted("SIGTERM")


def apply(pattern_path: str, pool_path: str | None, inputs: Sequence[str], input_files: Sequence[Path],
          output: Path | None, state_dir: Path, concurrency: int | None, out: TextIO, err: TextIO,
          progress: bool = True) -> int:
    from runner import api

    pattern = load_pattern_arg(pattern_path)
    pool = load_pool_arg(pool_path)
    values = load_inputs(pattern, inputs, input_files)
    ctx = RunContext(pattern_name=pattern.name, state_dir=state_dir)
    hook = _progress_hook(err) if progress else None
    previous = signal.signal(signal.SIGTERM, _raise_sigterm) if _main_thread() else None
    try:
        outcome = api.apply(pattern, pool, values, ctx=ctx, concurrency=concurrency, on_event=hook)
    except Interrupted as exc:
        click.echo(f"{exc}: every agent of run {ctx.run_id} was stopped; journal: {ctx.run_dir}", file=err)
        _write_partial(output, ctx)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if output is not None:
        _write_output(output, json.dumps(outcome.result, indent=2, default=str) + "\n", ctx)
    out.write(summary_text(outcome.result))
    if outcome.result.get("error"):
        click.echo(f"error: {outcome.result['error']['message']}", file=err)
    return outcome.exit_code


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _write_partial(output: Path | None, ctx: RunContext) -> None:
    result = ctx.run_dir / "result.json"
    if output is not None and result.exists():
        _write_output(output, result.read_text(), ctx)


def _write_output(output: Path, text: str, ctx: RunContext) -> None:
    """``--output``: its folder is created; a path that cannot be written is a usage error, not a bug."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}; "
                         f"the result is in {ctx.run_dir / 'result.json'}") from None


def _progress_hook(err: TextIO):  # type: ignore[no-untyped-def]
    import time

    start = time.monotonic()

    def hook(name: str, fields: dict[str, Any]) -> None:
        t = f"[{time.monotonic() - start:6.2f}s]"
        if name == "step_started":
            click.echo(f"{t} step {fields['step']}: running on {', '.join(fields['agents'])}", file=err)
        elif name == "step_finished":
            extra = f" ({fields.get('error')})" if fields.get("error") else ""
            click.echo(f"{t} step {fields['step']}: {fields['status']}{extra}", file=err)
        elif name == "step_skipped":
            click.echo(f"{t} step {fields['step']}: skipped ({fields['reason']})", file=err)
        elif name == "attempt_finished" and fields.get("status") != "ok":
            click.echo(f"{t} step {fields['step']}: attempt {fields['attempt']} on {fields['agent']} "
                       f"{fields['status']}: {fields.get('errorKind')}: {fields.get('error')}", file=err)
        elif name == "agent_event" and fields.get("name") in ("login_required", "agent_error"):
            click.echo(f"{t} agent {fields['agent']}: {fields['name']} {fields.get('detail') or ''}", file=err)

    return hook


@click.command("apply")
@click.argument("pattern")
@click.option("--pool", "pool_path", metavar="POOL", help="Pool file (default: the embedded local pool).")
@click.option("--input", "-i", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value (repeatable).")
@click.option("--input-file", "input_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A YAML/JSON file of inputs (repeatable).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write result JSON here.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where run journals go.")
@click.option("--concurrency", type=click.IntRange(1, 4096), help="Max agent tasks at once.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def command(pattern: str, pool_path: str | None, inputs: tuple[str, ...], input_files: tuple[Path, ...],
            output: Path | None, state_dir: Path, concurrency: int | None, quiet: bool) -> None:
    """Run PATTERN (a file, or the name of a built-in pattern) with a pool."""
    from runner.cli import run_command

    run_command(apply, pattern, pool_path, inputs, input_files, output, state_dir, concurrency,
                sys.stdout, sys.stderr, not quiet)
