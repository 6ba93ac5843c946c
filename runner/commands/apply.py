"""``runner apply``: compile a pattern with a pool and run it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from runner import api
from runner.commands.common import frozen_option, load_inputs, load_pattern_arg, load_pool_arg, summary_text
from runner.context import RunContext
from runner.errors import Interrupted, UsageError
from runner.journal import load_result, load_run
from runner.observe import trace
from runner.observe.log import setup_logging
from runner.observe.redact import from_pool
from runner.sources.pins import pinned
from runner.spec.models import MAX_CONCURRENCY


def _raise_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted("SIGTERM")


def apply(pattern_path: str | None, pool_path: str | None, inputs: Sequence[str], input_files: Sequence[Path],
          output: Path | None, state_dir: Path, concurrency: int | None, out: TextIO, err: TextIO,
          progress: bool = True, junit: Path | None = None, log_format: str | None = None,
          log_level: str = "warning", drain_timeout: float = 10.0, verbose: bool = False,
          html: Path | None = None, keep_workspaces: bool = False, force: bool = False,
          record: Path | None = None, replay: Path | None = None, replay_missing: str = "error",
          resume: str | None = None, detach_on_approval: bool = False) -> int:


    earlier = None
    if resume is not None:
        from runner.resume.source import load_earlier  # lazy: cold start (only --resume)

        earlier = load_earlier(state_dir, resume)
        pattern_path = pattern_path or earlier.run.get("patternSource")
        pool_path = pool_path or earlier.run.get("poolSource")
    if not pattern_path:
        raise UsageError("runner apply needs a PATTERN (or --resume RUN_ID, which runs that run's pattern again)")
    pattern = load_pattern_arg(pattern_path)
    pool = load_pool_arg(pool_path)
    values = _inputs(pattern, inputs, input_files, earlier)
    redactor = from_pool(pool, os.environ)
    cassette, recorder = _cassettes(record, replay, replay_missing, redactor)
    trace.configure()
    trace.set_redactor(redactor)
    setup_logging(log_format, log_level, redactor, err)
    ctx = RunContext(pattern_name=pattern.name, state_dir=state_dir, drain_timeout=drain_timeout,
                     keep_workspaces=keep_workspaces, force=force, replay=cassette,
                     replay_missing=replay_missing, recorder=recorder, resume=earlier,
                     detach_on_approval=detach_on_approval)
    reporter = None
    if progress:
        from runner.observe.progress import make_progress  # lazy: cold start (not with --quiet)

        reporter = make_progress(err, redactor=redactor, verbose=verbose)
    unsubscribe = ctx.bus.subscribe(reporter.on_agent_event) if reporter is not None else None
    hook = _progress_hook(reporter, ctx) if reporter is not None else None
    previous = signal.signal(signal.SIGTERM, _raise_sigterm) if _main_thread() else None
    try:
        with reporter if reporter is not None else _nothing():
            outcome = api.apply(pattern, pool, values, ctx=ctx, concurrency=concurrency, on_event=hook,
                                redact=redactor.redact)
    except Interrupted as exc:
        click.echo(f"{exc}: every agent of run {ctx.run_id} was stopped; journal: {ctx.run_dir}", file=err)
        _write_reports(ctx, output, junit, redactor, html=html)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if unsubscribe is not None:
            unsubscribe()
        trace.shutdown()
    _write_reports(ctx, output, junit, redactor, outcome.result, html=html)
    out.write(redactor.redact(summary_text(outcome.result)))
    if outcome.result.get("error"):
        label = "waiting" if outcome.status == "waiting" else "error"
        click.echo(redactor.redact(f"{label}: {outcome.result['error']['message']}"), file=err)
    return outcome.exit_code


def _inputs(pattern: Any, pairs: Sequence[str], files: Sequence[Path], earlier: Any) -> dict[str, Any]:
    """The run's inputs; ``--resume``: the earlier run's, with ``--input``/``--input-file`` on top."""
    if earlier is None or not isinstance(earlier.run.get("inputs"), dict):
        return load_inputs(pattern, pairs, files)

    declared = {s.name for s in pattern.inputs}
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="runner-resume-inputs-") as f:
        json.dump({k: v for k, v in earlier.run["inputs"].items() if k in declared and v is not None}, f)
        f.flush()
        return load_inputs(pattern, pairs, [Path(f.name), *files])


def _cassettes(record: Path | None, replay: Path | None, missing: str, redactor: Any) -> tuple[Any, Any]:
    """``--replay`` loads (and checks) a cassette; ``--record`` writes one; with
    ``--replay-missing=run`` the exchanges that were missing are added to the replayed one."""
    if record is not None and replay is not None:
        raise UsageError("--record and --replay exclude each other (--replay-missing=run adds to the cassette)")
    if record is None and replay is None:
        return None, None
    from runner.replay.cassette import Recorder, load  # lazy: cold start (only --record/--replay)

    if record is not None:  # (and no --replay)
        return None, Recorder(record, redactor.redact_obj)
    assert replay is not None
    cassette = load(replay)
    recorder = Recorder(replay, redactor.redact_obj, existing=cassette) if missing == "run" else None
    return cassette, recorder


def _nothing():
    return contextlib.nullcontext()


def _write_reports(ctx: RunContext, output: Path | None, junit: Path | None, redactor: Any,
                   result: dict[str, Any] | None = None, html: Path | None = None) -> None:
    """result.json (``--output``), JUnit XML (``--junit``), the HTML report (``--html``) and the
    GitHub step summary (which links the HTML report and draws the DAG)."""
    result = result if result is not None else load_result(ctx.run_dir)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    model = None
    if html is not None or summary:
        from runner.observe.runmodel import load_model  # lazy: cold start (only --html, GitHub's summary)

        model = load_model(ctx.run_dir)
    if html is not None and model is not None:
        from runner.observe.html import render_report  # lazy: cold start (only --html)

        _write_file(html, render_report(model, redactor), "--html", ctx)
    if result is None:
        return
    result = redactor.redact_obj(result)
    if output is not None:
        _write_file(output, json.dumps(result, indent=2, default=str) + "\n", "--output", ctx)
    if junit is None and not summary:
        return
    from runner.observe.report import (  # lazy: cold start (only --junit, summary)
        append_github_summary,
        junit_xml,
    )

    if junit is not None:
        _write_file(junit, junit_xml(result, redactor), "--junit", ctx)
    append_github_summary(result, redactor, model=model, html=html)


def _write_file(path: Path, text: str, option: str, ctx: RunContext) -> None:
    """Its folder is created; a path that cannot be written is a usage error, not a bug."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write {option} {path}: {exc.strerror or exc}; "
                         f"the result is in {ctx.run_dir / 'result.json'}") from None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _progress_hook(reporter: Any, ctx: RunContext):
    """Journal events -> the progress reporter; at the start, the plan's steps from ``run.json``
    (so the live table lists every step, pending ones too)."""
    def hook(name: str, fields: dict[str, Any]) -> None:
        if name == "run_started":
            reporter.model.set_plan(load_run(ctx.run_dir, running=True).run.get("plan"))
        reporter.on_event(name, **fields)

    return hook


@click.command("apply")
@click.argument("pattern", required=False)
@click.option("--pool", "pool_path", metavar="POOL", help="Pool file (default: the embedded local pool).")
@click.option("--input", "-i", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value (repeatable).")
@click.option("--input-file", "input_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A YAML/JSON file of inputs (repeatable).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write result JSON here.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
              show_default=True, help="Where run journals go.")
@click.option("--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), help="Max agent tasks at once.")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML here.")
@click.option("--log-format", type=click.Choice(["json", "human"]),
              help="Log lines on stderr (default: human on a terminal, JSON otherwise).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="warning",
              show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress: only the summary.")
@click.option("--verbose", "-v", is_flag=True, help="Progress shows every attempt and agent state change too.")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the run's HTML report here (as `runner report` makes it).")
@click.option("--drain-timeout", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
              help="Seconds running tasks may finish after Ctrl-C/SIGTERM (a second one forces).")
@click.option("--keep-workspaces", is_flag=True, help="Keep the agents' workspaces (worktrees, copies) after the run.")
@click.option("--force", is_flag=True, help="`land: apply` even onto a working tree with uncommitted changes.")
@click.option("--record", type=click.Path(path_type=Path, dir_okay=False),
              help="Write every agent exchange to this cassette (docs/testing.md).")
@click.option("--replay", type=click.Path(path_type=Path, dir_okay=False),
              help="Answer every task from this cassette: no agent is started, no registry asked.")
@click.option("--replay-missing", type=click.Choice(["error", "run"]), default="error", show_default=True,
              help="A task not in the cassette fails its step (error) or runs the real agent and is added (run).")
@frozen_option
@click.option("--resume", metavar="RUN_ID",
              help="Run RUN_ID's pattern again, reusing its steps that succeeded with an unchanged fingerprint "
                   "(docs/execution.md). PATTERN, --pool and inputs default to that run's.")
@click.option("--detach-on-approval", is_flag=True,
              help="Exit (code 75) when a step waits for approval; `runner apply --resume RUN_ID` continues.")
def command(pattern: str | None, pool_path: str | None, inputs: tuple[str, ...], input_files: tuple[Path, ...],
            output: Path | None, state_dir: Path, concurrency: int | None, junit: Path | None,
            log_format: str | None, log_level: str, quiet: bool, verbose: bool, html: Path | None,
            drain_timeout: float, keep_workspaces: bool, force: bool, record: Path | None,
            replay: Path | None, replay_missing: str, frozen: bool, resume: str | None,
            detach_on_approval: bool) -> int:
    """Run PATTERN (a file, or a source: builtin:NAME, pkg:DIST/NAME, git+URL//FILE@REF) with a pool.

    With runner.lock next to PATTERN, every source it reaches must match its pins."""

    # --resume without PATTERN runs the earlier run's pattern file as it was resolved then
    with pinned(pattern, frozen) if pattern is not None else contextlib.nullcontext():
        return apply(pattern, pool_path, inputs, input_files, output, state_dir, concurrency,
                     sys.stdout, sys.stderr, not quiet, junit, log_format, log_level, drain_timeout, verbose, html,
                     keep_workspaces, force, record, replay, replay_missing, resume, detach_on_approval)
