"""``runner logs RUN_ID [--step S] [--agent A] [-f]``: agents' transcripts of a run.

Prints ``agents/<agent-id>.log`` of the run's journal and, for agents without a transcript
(remote agents reached over HTTP/gRPC), the outputs recorded in ``attempt_finished`` events.
``--step`` keeps the agents that worked on that step (a transcript holds everything its agent
did). ``-f`` keeps printing what is appended until the run finishes (or Ctrl-C).
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import click

from runner.errors import UsageError
from runner.journal import RunRecord, find_run, load_run
from runner.observe.redact import Redactor


class _Tail:
    """New complete lines of a growing file (a torn last line waits for its end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self, final: bool = False) -> str:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return ""
        self.offset += len(data)
        data = self.partial + data
        cut = len(data) if final else data.rfind(b"\n") + 1
        self.partial = data[cut:]
        return data[:cut].decode("utf-8", errors="replace")


def _step_agents(record: RunRecord, step: str) -> set[str]:
    agents: set[str] = set()
    for s in (record.result or {}).get("steps") or []:
        if s.get("id") == step:
            agents.update(s.get("agents") or [])
            agents.update(str(a["agentId"]) for a in s.get("attempts") or [] if a.get("agentId"))
    for e in record.events():
        agent_id = e.get("agentId") or e.get("agent")
        if (e.get("stepId") or e.get("step")) == step and agent_id:
            agents.add(str(agent_id))
    return agents


def _known(record: RunRecord) -> tuple[set[str], set[str]]:
    """The steps and agents a run's journal names so far."""
    result = record.result or {}
    steps = {str(s["id"]) for s in result.get("steps") or [] if isinstance(s, dict) and s.get("id")}
    agents = {str(a["id"]) for a in result.get("agents") or [] if isinstance(a, dict) and a.get("id")}
    agents.update(p.stem for p in (record.dir / "agents").glob("*.log"))
    for e in record.events():
        if isinstance(step_id := e.get("stepId") or e.get("step"), str):
            steps.add(step_id)
        for key in ("agentId", "agent"):
            if isinstance(e.get(key), str):
                agents.add(e[key])
        if isinstance(e.get("agents"), list):
            agents.update(a for a in e["agents"] if isinstance(a, str))
    return steps, agents


def _check_names(record: RunRecord, step: str | None, agent: str | None, follow: bool) -> None:
    """An unknown ``--step`` / ``--agent`` is a usage error naming the known ones (a running run
    followed with ``-f`` may still bring it: then it is waited for)."""
    if (step is None and agent is None) or (follow and not record.finished):
        return
    steps, agents = _known(record)
    for what, name, known in (("step", step, steps), ("agent", agent, agents)):
        if name is not None and name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            listed = ", ".join(f"`{n}`" for n in sorted(known)) or "none"
            raise UsageError(f"run {record.run_id} has no {what} `{name}`"
                             + (f": did you mean `{near[0]}`?" if near else "") + f" (its {what}s: {listed})")


class _Printer:
    """Writes redacted chunks, with a ``==> source <==`` header whenever the source changes."""

    def __init__(self, out: IO[str], headers: bool) -> None:
        self.out, self.headers = out, headers
        self.current: str | None = None
        self.redact = Redactor().redact  # the journal is redacted already; key shapes are caught anyway

    def write(self, source: str, text: str) -> None:
        if not text:
            return
        if self.headers and source != self.current:
            self.out.write(f"{'' if self.current is None else chr(10)}==> {source} <==\n")
        self.current = source
        self.out.write(self.redact(text) + ("" if text.endswith("\n") else "\n"))
        self.out.flush()


def logs_command(state_dir: Path, run_id: str, step: str | None, agent: str | None, follow: bool,
                 out: IO[str], poll: float = 0.2) -> int:
    """Print the transcripts (and event outputs) of a run's agents; follow them with ``follow``."""
    record = find_run(state_dir, run_id)
    _check_names(record, step, agent, follow)
    agents_dir, events = record.dir / "agents", _Tail(record.dir / "events.jsonl")
    tails: dict[str, _Tail] = {}
    printer = _Printer(out, headers=agent is None)
    step_agents: set[str] = set()

    def wanted(agent_id: str) -> bool:
        if agent is not None and agent_id != agent:
            return False
        return step is None or agent_id in step_agents

    try:
        while True:
            record = load_run(record.dir)
            finished = not follow or record.finished  # read before the files: nothing is missed
            if step is not None:
                step_agents = _step_agents(record, step)
            for path in sorted(agents_dir.glob("*.log")) if agents_dir.is_dir() else []:
                if path.stem not in tails and wanted(path.stem):
                    tails[path.stem] = _Tail(path)
            for agent_id, tail in tails.items():
                printer.write(f"agent {agent_id}", tail.read(final=finished))
            for line in events.read(final=finished).splitlines():
                _print_event_output(line, tails, wanted, step, printer)
            if finished:
                return 0
            time.sleep(poll)
    except KeyboardInterrupt:  # Ctrl-C is how one stops following
        return 0


def _print_event_output(line: str, tails: dict[str, _Tail], wanted: Any, step: str | None, printer: _Printer) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        return
    if not isinstance(event, dict) or event.get("event") != "attempt_finished" or event.get("output") in (None, ""):
        return
    agent_id, step_id = event.get("agentId") or event.get("agent"), event.get("stepId") or event.get("step")
    if not agent_id or agent_id in tails or not wanted(agent_id) or (step is not None and step_id != step):
        return
    output = event["output"] if isinstance(event["output"], str) else json.dumps(event["output"], indent=2)
    printer.write(f"step {step_id}, attempt {event.get('attempt', '?')} on {agent_id} ({event.get('status', '?')})",
                  output)


@click.command("logs")
@click.argument("run_id")
@click.option("--step", help="Only the agents that worked on this step.")
@click.option("--agent", help="Only this agent.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run finishes.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".runner"),
              envvar="RUNNER_STATE_DIR", show_default=True, help="Where runs keep their journals.")
def logs(run_id: str, step: str | None, agent: str | None, follow: bool, state_dir: Path) -> int:
    """Show the agents' transcripts of run RUN_ID (an id, a unique prefix, or `latest`)."""
    return logs_command(state_dir, run_id, step, agent, follow, sys.stdout)
