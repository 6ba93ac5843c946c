"""``runner report RUN_ID [--out FILE]``: the run's self-contained HTML report, from its journal.

Works on a finished run, a running one (the page says so and is complete up to now) and one
whose process died (a torn last journal line is skipped). Exit codes: 0 written; 2 no such run
or a file that cannot be written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from runner.commands.runs import STATE_DIR
from runner.errors import UsageError
from runner.journal import find_run
from runner.observe.html import render_report
from runner.observe.redact import Redactor
from runner.observe.runmodel import load_model


def report_command(state_dir: Path, run_id: str, out_path: Path | None, out: IO[str]) -> int:
    """Write the report of ``run_id`` to ``out_path`` (default: ``report.html`` in the run's folder)."""
    record = find_run(state_dir, run_id)
    model = load_model(record.dir)
    page = render_report(model, Redactor())  # the journal is redacted; key shapes are caught anyway
    target = out_path or record.dir / "report.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    note = " (still running: complete up to now)" if model.status == "running" else ""
    out.write(f"report of run {model.run_id} ({model.status}, {len(model.steps)} steps){note}: {target}\n")
    return 0


@click.command("report")
@click.argument("run_id")
@click.option("--out", "-o", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the HTML file (default: report.html in the run's journal folder).")
@STATE_DIR
def command(run_id: str, out_path: Path | None, state_dir: Path) -> int:
    """Write RUN_ID's HTML report (RUN_ID, a unique prefix of it, or `latest`): one file, no network."""
    return report_command(state_dir, run_id, out_path, sys.stdout)
