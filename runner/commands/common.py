"""What several commands share: finding pattern and pool files, inputs, the result summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from runner.errors import UsageError
from runner.resources import builtin_hint, default_pool_path
from runner.sources.pins import pattern_file
from runner.spec import load_pattern, load_pool
from runner.spec.inputs import parse_assignments, resolve_inputs
from runner.spec.models import Pattern, Pool
from runner.workspace.describe import step_change_lines

#: apply, plan, validate: refuse sources runner.lock does not list (runner.sources.pins)
frozen_option = click.option("--frozen", is_flag=True,
                             help="Refuse any source runner.lock does not pin (for CI).")


def load_pattern_arg(arg: str) -> Pattern:
    """A pattern file, or a source: ``builtin:NAME``, ``pkg:DIST/NAME``, ``git+URL//file@REF``
    (resolved, and checked against the active lock: ``runner.sources.pins``)."""
    path = pattern_file(arg)
    if not path.exists():
        raise UsageError(f"pattern file not found: {arg}{builtin_hint(arg)}")
    return load_pattern(path)


def load_pool_arg(arg: str | None) -> Pool:
    """A pool file, or the embedded default pool (local runtime, ``command`` agents)."""
    if arg is None:
        return load_pool(default_pool_path())
    path = Path(arg)
    if not path.exists():
        raise UsageError(f"pool file not found: {arg}")
    return load_pool(path)


def load_inputs(pattern: Pattern, pairs: Sequence[str], files: Sequence[Path]) -> dict[str, Any]:
    return resolve_inputs(pattern, parse_assignments(list(pairs)), list(files))


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_text(result: dict[str, Any]) -> str:
    """A readable end-of-run summary: one line per step, its agents' answers, the outputs."""
    lines = [f"run {result['runId']}: {result['status']} (exit {result['exitCode']}, "
             f"{result['durationMs'] / 1000:.2f}s) — pattern {result['pattern']['name']}"]
    for step in result["steps"]:
        conf = "" if step.get("confidence") is None else f" confidence {step['confidence']:.2f}"
        lines.append(f"  step {step['id']}: {step['status']}{conf}")
        agg = step.get("aggregation") or {}
        if agg.get("votes"):
            votes = ", ".join(f"{k}: {v:g}" for k, v in agg["votes"].items())
            lines.append(f"    {agg['type']}/{agg.get('method')}: {votes} -> {_short(step.get('output'))}")
        for a in step.get("attempts", []):
            if a["status"] == "ok":
                c = "" if a.get("confidence") is None else f" ({a['confidence']:.2f})"
                lines.append(f"    {a['agentId']}: {_short(a.get('result'))}{c}")
            else:
                lines.append(f"    {a['agentId']}: {a['status']} {a.get('errorKind')}: {_short(a.get('error'), 80)}")
        lines += [f"    {line}" for line in step_change_lines(step)]
        if step.get("error"):
            lines.append(f"    error: {step['error']['message']}")
    for name, value in (result.get("outputs") or {}).items():
        lines.append(f"output {name}: {_short(value, 200)}")
    return "\n".join(lines) + "\n"
