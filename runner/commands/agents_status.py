"""``runner agents status [--run RUN_ID|latest]``: the agents of a run and their metrics, from its journal.

Works for finished runs (``result.json``, ``agent_metrics`` events written at cleanup) and for
running or killed ones (what ``events.jsonl`` says so far: state from the attempts, message
count from the attempts started).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from runner.commands.runs import STATE_DIR, _table
from runner.journal import RunRecord, find_run

_METRICS = ("cpu", "memory", "uptime", "messageCount")


def _ids(event: dict[str, Any]) -> list[str]:
    """The agents an event is about."""
    agent = event.get("agent") or event.get("agentId")
    if isinstance(agent, str):
        return [agent]
    agents = event.get("agents")
    return [a for a in agents if isinstance(a, str)] if isinstance(agents, list) else []


def agent_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One dict per agent of the run: id, type, runtime, state, lastEvent and the metrics known."""
    rows: dict[str, dict[str, Any]] = {}

    def row(agent_id: str) -> dict[str, Any]:
        return rows.setdefault(agent_id, {"id": agent_id, "type": None, "runtime": None, "state": "selected",
                                          "lastEvent": None})

    for agent in (record.result or {}).get("agents") or []:
        if isinstance(agent, dict) and agent.get("id"):
            r = row(str(agent["id"]))
            r.update(type=agent.get("type"), runtime=agent.get("runtime"))
            r.update({k: v for k, v in (agent.get("metrics") or {}).items() if k in _METRICS})
    running: dict[str, int] = {}
    for event in record.events():
        name = str(event.get("event", ""))
        for agent_id in _ids(event):
            r = row(agent_id)
            if name == "agent_metrics" and event.get("sampled"):  # a periodic sample: numbers only
                r.update({k: event[k] for k in _METRICS if k in event})
                continue
            r["lastEvent"] = name
            if name == "attempt_started":
                running[agent_id] = running.get(agent_id, 0) + 1
                r["state"] = "busy"
                r["_started"] = r.get("_started", 0) + 1
            elif name == "attempt_finished":
                running[agent_id] = max(0, running.get(agent_id, 0) - 1)
                r["lastEvent"] = f"{name} ({event.get('status')})"
                r["state"] = "busy" if running[agent_id] else "ready"
            elif name == "agent_event":
                r["lastEvent"] = f"{event.get('name')}"
                r["state"] = str(event.get("state") or r["state"])
            elif name == "agent_metrics":
                r.update({k: event[k] for k in _METRICS if k in event})
                r["runtime"] = r["runtime"] or event.get("runtime")
            elif name == "cleanup_started":
                r["state"] = "stopping"
    over = record.finished
    for r in rows.values():
        started = r.pop("_started", 0)
        r.setdefault("messageCount", started)  # no metrics (yet): the tasks the run sent it
        if over and r["state"] in ("ready", "busy", "stopping", "selected"):
            r["state"] = "stopped"
    return list(rows.values())


def _cpu(value: Any) -> str:
    return f"{value:.1f}%" if isinstance(value, (int, float)) else "-"


def _memory(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return "-"  # pragma: no cover


def _uptime(value: Any) -> str:
    return f"{value / 1000:.1f}s" if isinstance(value, (int, float)) else "-"


def status_command(state_dir: Path, run_id: str, as_json: bool, out: IO[str]) -> int:
    """Print the agents of one run (``latest`` by default)."""
    record = find_run(state_dir, run_id)
    rows = agent_rows(record)
    if as_json:
        out.write(json.dumps({"runId": record.run_id, "status": record.status, "agents": rows}, indent=2) + "\n")
        return 0
    out.write(f"run {record.run_id} ({record.status})\n")
    if not rows:
        out.write("no agents\n")
        return 0
    table = [["AGENT", "TYPE", "RUNTIME", "STATE", "LAST EVENT", "MESSAGES", "CPU", "MEMORY", "UPTIME"]]
    table += [[r["id"], r["type"] or "-", r["runtime"] or "-", r["state"], r["lastEvent"] or "-",
               str(r["messageCount"]), _cpu(r.get("cpu")), _memory(r.get("memory")), _uptime(r.get("uptime"))]
              for r in rows]
    _table(table, out)
    return 0


@click.command("status")
@click.option("--run", "run_id", default="latest", show_default=True, help="RUN_ID, a unique prefix, or `latest`.")
@STATE_DIR
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cli(run_id: str, state_dir: Path, as_json: bool) -> int:
    """The agents of a run: state, last event, messages, cpu, memory, uptime (from its journal)."""
    return status_command(state_dir, run_id, as_json, sys.stdout)
