"""What an earlier run's journal says about its steps, for ``--resume`` and ``cache: true``.

``load_earlier`` reads the run being resumed strictly: a journal that is still being written
(its lock is held), truncated (the last line has no newline) or corrupt (a line that is not a
JSON event, no ``run_started``) is a ``UsageError`` (exit 2) naming the file and line, and
nothing is written to it. ``fold`` turns events into the record of each step that succeeded
with a fingerprint (``Done``): its output, aggregation and attempts as ``result.json`` has
them, rebuilt from the events alone, so a run killed with ``kill -9`` can be resumed. A step
that was itself reused keeps the run it first ran in as its origin (its ``step_finished`` has
``reusedFrom``); its attempts are read from that run's journal when it is reused again
(``Reuser.find``), and without that journal it runs again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.journal import find_run, is_running, read_events
from runner.journal.caps import TEXTS_DIR
from runner.journal.layout import EVENTS_FILE, RUN_FILE
from runner.spec.document import paused_gc

_CUT = re.compile(r"\n\[runner: cut at [\d,]+ of [\d,]+ characters; the whole text is in (texts/[0-9a-f]+\.txt)\]\Z")
_DECODER = json.JSONDecoder()
_ATTEMPT_KEYS = ("result", "confidence", "reasoning", "errorKind", "error", "usage")


@dataclass(frozen=True, kw_only=True)
class Done:
    """A step that succeeded: its fingerprint, the run it ran in, its record (result.json's shape)."""

    step: str
    fingerprint: str
    origin: str
    record: dict[str, Any]


@dataclass(kw_only=True)
class Earlier:
    """The run being resumed, as its journal tells it."""

    run_id: str
    dir: Path
    run: dict[str, Any]
    done: dict[str, Done] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # step id -> its last status
    deadlines: dict[str, str] = field(default_factory=dict)  # step id -> its approval gate's deadline (ISO)
    landings: dict[str, str] = field(default_factory=dict)  # land: apply: source state after -> before


def load_earlier(state_dir: Path, run_id: str) -> Earlier:
    """The run ``run_id`` (or a unique prefix, or ``latest``) to resume; ``UsageError`` when it
    cannot be (unknown, still running, truncated or corrupt)."""
    run_dir = Path(state_dir) / "runs" / run_id
    if not run_id or "/" in run_id or not run_dir.is_dir():  # a prefix or `latest`: look among the runs
        run_dir = find_run(state_dir, run_id).dir  # (reading every run's files: only when needed)
    name = run_dir.name
    if is_running(run_dir):  # the lock, even once result.json is written
        raise UsageError(f"run {name} is still running (its journal's lock is held): resume it once it has ended")
    try:
        run = json.loads((run_dir / RUN_FILE).read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{run_dir / RUN_FILE}: missing: the journal of run {name} cannot be resumed") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{run_dir / RUN_FILE}: unreadable ({exc}): the journal of run {name} "
                         "is corrupt and cannot be resumed") from None
    if not isinstance(run, dict):
        raise UsageError(f"{run_dir / RUN_FILE}: not a JSON object: the journal is corrupt")
    earlier = Earlier(run_id=str(run.get("runId") or name), dir=run_dir, run=run)
    with paused_gc():  # every event stays alive until folded (runner.spec.document.paused_gc)
        fold(read_strict(run_dir / EVENTS_FILE), earlier)
    return earlier


def read_strict(path: Path) -> list[dict[str, Any]]:
    """Every event of a journal; a truncated or corrupt one is a ``UsageError`` at its line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the journal: {exc.strerror or exc}") from None
    if data and not data.endswith(b"\n"):
        line = data.count(b"\n") + 1
        raise UsageError(f"{path}:{line}: the journal is truncated (its last line is incomplete): "
                         "this run cannot be resumed; run the pattern again without --resume")
    events = _whole_lines(data)
    if events is None:  # something is wrong: find its line
        events = _line_by_line(path, data)
    if not any(e["event"] == "run_started" for e in events[:1]):
        raise UsageError(f"{path}:1: the journal is corrupt (it does not start with run_started): "
                         "this run cannot be resumed")
    return events


def _whole_lines(data: bytes) -> list[dict[str, Any]] | None:
    """The events when every line is one JSON event exactly (what runner writes), else None.
    One decode and one scan of the whole text: ``json.loads`` per line spent as much again on
    its own set-up as on parsing."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:  # a line break to bytes.splitlines: the line-by-line reading decides
        return None
    events = []
    scan, find, pos, end = _DECODER.raw_decode, text.find, 0, len(text)
    try:
        while pos < end:
            nl = find("\n", pos)
            event, stop = scan(text, pos)
            if stop != nl or type(event) is not dict or type(event.get("event")) is not str:
                return None
            events.append(event)
            pos = nl + 1
    except ValueError:
        return None
    return events


def _line_by_line(path: Path, data: bytes) -> list[dict[str, Any]]:
    events = []
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise UsageError(f"{path}:{n}: the journal is corrupt (not a JSON event): "
                             "this run cannot be resumed; run the pattern again without --resume")
        events.append(event)
    return events


def read_lenient(path: Path) -> list[dict[str, Any]]:
    """The events of a past run for ``cache: true``: a bad line is passed over, not an error."""
    return list(read_events(path.parent))


def fold(events: list[dict[str, Any]], earlier: Earlier) -> None:
    """Fill ``earlier.done`` and ``earlier.statuses`` from a run's events (in order)."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    open_: dict[tuple[Any, ...], dict[str, Any]] = {}
    agents: dict[str, list[str]] = {}
    origins: dict[str, str] = {}  # step id -> the run it ran in, when this one reused it
    landed: dict[str, Any] = {}
    spilled = (earlier.dir / TEXTS_DIR).is_dir()  # a string was cut: look for it in texts/
    for e in events:
        name, step = e.get("event"), e.get("step")
        if not isinstance(step, str):
            continue
        if name == "step_started":
            attempts[step], agents[step] = [], [str(a) for a in e.get("agents") or []]
            origins.pop(step, None)
            earlier.statuses[step] = "running"
        elif name == "attempt_started":
            a: dict[str, Any] = {"attempt": e.get("attempt", 1), "agentId": e.get("agent"), "item": e.get("item"),
                                 "startedAt": e.get("time")}
            open_[(step, a["agentId"], a["attempt"], a["item"])] = a
        elif name == "attempt_finished":
            key = (step, e.get("agent"), e.get("attempt", 1), e.get("item"))
            a = open_.pop(key, {}) or {"attempt": key[2], "agentId": key[1], "item": key[3], "startedAt": None}
            a.update(finishedAt=e.get("time"), durationMs=e.get("durationMs") or 0, status=e.get("status"),
                     **{k: e.get(k) for k in _ATTEMPT_KEYS})
            a["usage"] = a["usage"] if isinstance(a["usage"], dict) else {}
            if isinstance(e.get("change"), dict):
                a["change"] = e["change"]
            attempts.setdefault(step, []).append(a)
        elif name == "change_landed":
            landed[step] = {k: v for k, v in e.items() if k not in ("time", "event", "step", "agent")}
        elif name in ("step_finished", "step_skipped", "step_waiting"):
            status = "skipped" if name == "step_skipped" else "waiting" if name == "step_waiting" \
                else str(e.get("status"))
            earlier.statuses[step] = status
            if name == "step_waiting" and isinstance(e.get("deadline"), str):
                earlier.deadlines[step] = e["deadline"]
            fp = e.get("fingerprint")
            if status != "succeeded" or not isinstance(fp, str):
                earlier.done.pop(step, None)
                continue
            if isinstance(e.get("reusedFrom"), str):  # reused here: its attempts are in the journal it ran in
                origins[step] = e["reusedFrom"]
            record = {"id": step, "status": "succeeded", "output": e.get("output"),
                      "confidence": e.get("confidence"), "agents": agents.get(step, []),
                      "aggregation": e.get("aggregation"),
                      "attempts": None if step in origins else attempts.get(step, [])}
            for k in ("change", "landed", "landedOver"):
                if e.get(k) is not None:
                    record[k] = e[k]
            over = e.get("landedOver")
            if isinstance(over, dict) and isinstance(over.get("after"), str) and isinstance(over.get("before"), str):
                earlier.landings[over["after"]] = over["before"]
            if "landed" not in record and step in landed:
                record["landed"] = landed[step]
            earlier.done[step] = Done(step=step, fingerprint=fp, origin=origins.get(step, earlier.run_id),
                                      record=unspill(record, earlier.dir) if spilled else record)
        elif name == "step_approved" or name == "step_denied":
            earlier.statuses[step] = "running"


def unspill(value: Any, run_dir: Path) -> Any:
    """A string the journal cut (``runner.journal.caps``) whole again, from ``texts/``."""
    if isinstance(value, str):
        m = _CUT.search(value)
        if m is None:
            return value
        try:
            return (run_dir / m.group(1)).read_text(encoding="utf-8")
        except OSError:
            return value
    if isinstance(value, dict):
        return {k: unspill(v, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [unspill(v, run_dir) for v in value]
    return value
