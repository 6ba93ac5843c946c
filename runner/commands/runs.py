"""``runner runs list`` and ``runner runs show RUN_ID``: what the journals say about past runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from runner.journal import RUNNING, UNFINISHED, RunRecord, find_run, list_runs
from runner.journal.gates import Gate, waiting_gates
from runner.observe.redact import Redactor
from runner.observe.report import usage_text


def _duration(ms: Any) -> str:
    return "-" if not isinstance(ms, (int, float)) else f"{ms / 1000:.1f}s"


def _short(value: Any, limit: int = 60) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _votes(aggregation: Any) -> str:
    votes = (aggregation or {}).get("votes") if isinstance(aggregation, dict) else None
    return ",".join(f"{k}:{v:g}" for k, v in votes.items()) if isinstance(votes, dict) and votes else "-"


def _table(rows: list[list[str]], out: IO[str]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def list_command(state_dir: Path, as_json: bool, out: IO[str]) -> int:
    """Print the runs under ``state_dir``, newest first."""
    runs = list_runs(state_dir)
    gates = {r.run_id: _gates(r) for r in runs}
    if as_json:
        out.write(json.dumps([{**r.summary(), **({"waiting": [
            {"step": g.step, "deadline": g.deadline, "expired": g.expired()} for g in gates[r.run_id]]}
            if gates[r.run_id] else {})} for r in runs], indent=2) + "\n")
        return 0
    if not runs:
        out.write(f"no runs in {state_dir / 'runs'}\n")
        return 0
    rows = [["RUN ID", "PATTERN", "POOL", "STATUS", "STARTED", "DURATION"]]
    rows += [[r.run_id, r.pattern or "-", r.pool or "-", r.status + "".join(
              f" ({g.step} {g.when()})".replace(" )", ")") for g in gates[r.run_id]),
              r.started_at or "-", _duration(r.duration_ms)] for r in runs]
    _table(rows, out)
    return 0


def _gates(record: RunRecord) -> list[Gate]:
    """The approval gates a run waits at (only a run that is or may be waiting reads them)."""
    return waiting_gates(record) if record.status in ("waiting", RUNNING, UNFINISHED) else []


def _steps_from_events(record: RunRecord) -> list[dict[str, Any]]:
    """Steps of a run without ``result.json`` (still running or killed), from its events."""
    steps: dict[str, dict[str, Any]] = {}
    for event in record.events():
        step_id = event.get("stepId") or event.get("step")
        if not step_id:
            continue
        step = steps.setdefault(step_id, {"id": step_id, "status": "pending"})
        name = event.get("event")
        if name == "step_started" or name == "step_approved":
            step["status"] = "running"
            step.pop("waiting", None)
        elif name == "step_waiting":
            step.update(status="waiting", waiting={"message": event.get("message") or "",
                                                   **({"deadline": event["deadline"]} if event.get("deadline") else {})})
        elif name == "step_skipped":
            step["status"] = "skipped"
        elif name == "step_finished":
            step.update(status=event.get("status", "finished"), durationMs=event.get("durationMs"),
                        confidence=event.get("confidence"), output=event.get("output"))
            if event.get("reusedFrom"):
                step["reusedFrom"] = event["reusedFrom"]
    return list(steps.values())


def _status(step: dict[str, Any]) -> str:
    """A step's status as people read it: a reused step says from which run."""
    if step.get("reusedFrom"):
        return f"reused (from {step['reusedFrom']})"
    return str(step.get("status"))


def show_command(state_dir: Path, run_id: str, as_json: bool, out: IO[str]) -> int:
    """Print one run: its header, a table of its steps, its agents and errors."""
    record = find_run(state_dir, run_id)
    redact = Redactor().redact  # the journal is redacted already; this catches key shapes anyway
    if as_json:
        doc = record.result if record.result is not None else {**record.run, "status": record.status,
                                                               "steps": _steps_from_events(record)}
        out.write(redact(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n")
        return 0
    result = record.result or {}
    lines = [f"run       {record.run_id}", f"pattern   {record.pattern or '-'}", f"pool      {record.pool or '-'}",
             f"status    {record.status}" + (f" (exit code {result['exitCode']})" if "exitCode" in result else ""),
             f"started   {record.started_at or '-'}"]
    if record.run.get("resumedFrom"):
        lines.append(f"resumed   from run {record.run['resumedFrom']}")
    if result:
        lines += [f"finished  {result.get('finishedAt') or '-'}", f"duration  {_duration(result.get('durationMs'))}"]
        if result.get("usage"):
            lines.append(f"usage     {usage_text(result['usage'])}")
    out.write(redact("\n".join(lines)) + "\n")
    steps = result.get("steps") if result else _steps_from_events(record)
    if steps:
        rows = [["STEP", "STATUS", "CONFIDENCE", "TIME", "AGENTS", "VOTES", "USAGE", "OUTPUT"]]
        for s in steps:
            conf = s.get("confidence")
            rows.append([str(s.get("id")), _status(s), "-" if conf is None else f"{conf:.2f}",
                         _duration(s.get("durationMs")), str(len(s.get("agents") or [])) if "agents" in s else "-",
                         _votes(s.get("aggregation")), usage_text(s.get("usage") or {}) or "-",
                         redact(_short(s.get("output"))).replace("  ", " ")])
        out.write("\n")
        _table(rows, out)
    for gate in waiting_gates(record):
        lines = [f"waiting ({gate.step}): {gate.message}"]
        if gate.expired():
            lines.append(f"  deadline: expired at {gate.deadline}: no decision in time, it counts as denied"
                         + (f" (runner apply --resume {record.run_id} fails it)" if record.finished else ""))
        else:
            if gate.deadline:
                lines.append(f"  deadline: {gate.deadline}")
            lines.append(f"  decide with: runner approve {record.run_id} {gate.step} [--deny]")
            if record.finished:
                lines.append(f"  then continue: runner apply --resume {record.run_id}")
        out.write("\n" + redact("\n".join(lines)) + "\n")
    agents = result.get("agents") or []
    if agents:
        out.write("\n")
        _table([["AGENT", "TYPE", "SOURCE", "RUNTIME", "ENDPOINT", "USAGE"]] +
               [[a.get("id", "-"), a.get("type", "-"), a.get("source", "-"), a.get("runtime") or "-",
                 a.get("endpoint") or "-", usage_text(a.get("usage") or {}) or "-"] for a in agents], out)
    errors = ([("run", result["error"])] if result.get("error") else []) + \
        [(s["id"], s["error"]) for s in steps or [] if s.get("error")]
    for where, error in errors:
        out.write(redact(f"\nerror ({where}): {error.get('kind')}: {error.get('message')}") + "\n")
    return 0


STATE_DIR = click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".runner"),
                         envvar="RUNNER_STATE_DIR", show_default=True, help="Where runs keep their journals.")


@click.group("runs")
def runs() -> None:
    """Past and running runs, from their journals."""


@runs.command("list")
@STATE_DIR
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs_list(state_dir: Path, as_json: bool) -> int:
    """List the runs, newest first."""
    return list_command(state_dir, as_json, sys.stdout)


@runs.command("show")
@click.argument("run_id")
@STATE_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON (or what is known so far).")
def runs_show(run_id: str, state_dir: Path, as_json: bool) -> int:
    """Show one run: RUN_ID, a unique prefix of it, or `latest`."""
    return show_command(state_dir, run_id, as_json, sys.stdout)
