"""The cassette file: every agent exchange of a run, replayable without any agent.

JSON lines (docs/testing.md). Line 1 is the header::

    {"cassette": 1, "pattern": {"name", "version", "sha256"}, "runner": "<version>",
     "agents": [{"id", "name", "type", "capabilities", "expertise", "source"}, ...]}

each further line one exchange::

    {"step", "item", "slot", "attempt", "agent", "agentType", "capabilities", "task" (redacted),
     "taskSha256", "answer": {"result", "confidence", "reasoning", "usage"?} | "error": {"kind",
     "message"}, "patch"?: "<the change as a git patch>"}

An exchange is found again by its fingerprint (step, item, rendered task, agent type and
capabilities, attempt); among exchanges of the same fingerprint the one of the same agent id
is preferred, else the first not replayed yet (five identical reviewers answer in turn).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import __version__
from runner.agents.model import AgentInfo
from runner.errors import UsageError

FORMAT = 1
Key = tuple[str, int | None, str, str, tuple[str, ...], int]


def task_sha(task: str) -> str:
    return hashlib.sha256(task.encode()).hexdigest()


def file_sha(path: str | None) -> str | None:
    try:
        return hashlib.sha256(Path(path or "").read_bytes()).hexdigest() if path else None
    except OSError:
        return None  # a pattern not read from a file (built from Python)


def key_of(step: str, item: int | None, task: str, info: AgentInfo, attempt: int) -> Key:
    return (step, item, task_sha(task), info.type, tuple(sorted(info.capabilities)), attempt)


def _entry_key(e: dict[str, Any]) -> Key:
    return (e["step"], e.get("item"), e["taskSha256"], e["agentType"], tuple(sorted(e.get("capabilities") or ())),
            e["attempt"])


def header(pattern: Any, agents: Iterable[AgentInfo]) -> dict[str, Any]:
    return {"cassette": FORMAT, "runner": __version__,
            "pattern": {"name": pattern.name, "version": pattern.version, "sha256": file_sha(pattern.source)},
            "agents": [{"id": a.id, "name": a.name, "type": a.type, "capabilities": list(a.capabilities),
                        "expertise": dict(a.expertise), "source": a.source} for a in agents]}


@dataclass(kw_only=True)
class Cassette:
    """A loaded cassette: its header and its exchanges by fingerprint."""

    path: Path
    head: dict[str, Any]
    entries: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    _used: set[int] = field(default_factory=set)
    _order: dict[tuple[str, int | None, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def agents(self) -> list[AgentInfo]:
        """The candidates of the recorded run, as the plan saw them (no definition: nothing to start)."""
        return [AgentInfo(id=a["id"], name=a.get("name") or a["id"], type=a["type"],
                          capabilities=tuple(a.get("capabilities") or ()), expertise=a.get("expertise") or {},
                          source="cassette") for a in self.head.get("agents") or ()]

    def check(self, pattern: Any) -> None:
        """A cassette of another pattern, or of another version of it, is refused."""
        rec = self.head.get("pattern") or {}
        if rec.get("name") != pattern.name or str(rec.get("version")) != str(pattern.version):
            raise UsageError(f"cassette {self.path} was recorded for pattern {rec.get('name')} "
                             f"version {rec.get('version')}, not {pattern.name} version {pattern.version}: "
                             "record it again (--record)")

    def missing(self, step: str, item: int | None, attempt: int, info: AgentInfo) -> str:
        where = f" item {item}" if item is not None else ""
        return (f"step `{step}`{where} attempt {attempt}: no answer of an agent of type {info.type} in cassette "
                f"{self.path} for this task (the task or the pattern changed since it was recorded: record "
                "again, or --replay-missing=run)")

    def add(self, entry: dict[str, Any], line: int = 0) -> None:
        with self._lock:
            self.entries.setdefault(_entry_key(entry), []).append(entry)
            if "answer" in entry:
                self._order.setdefault((str(entry["step"]), entry.get("item"), str(entry.get("agent"))), line)

    def rank(self, step: str, item: int | None, agent_id: str) -> int:
        """Where the agent's answer to the step's item came in the recorded run: a replay
        aggregates the answers in that order (``first``, and float sums, depend on it)."""
        return self._order.get((step, item, agent_id), 1 << 30)

    def has(self, entry: dict[str, Any]) -> bool:
        return any(e.get("agent") == entry.get("agent") for e in self.entries.get(_entry_key(entry), ()))

    def take(self, key: Key, agent_id: str) -> dict[str, Any] | None:
        """The exchange recorded for ``key``: the same agent's, else the first one not replayed yet."""
        with self._lock:
            found = self.entries.get(key) or []
            pick = next((e for e in found if e.get("agent") == agent_id), None)
            if pick is None:
                pick = next((e for e in found if id(e) not in self._used), None)
            if pick is not None:
                self._used.add(id(pick))
            return pick


def load(path: Path) -> Cassette:
    """Read and check a cassette; a missing, corrupt or truncated one is a ``UsageError`` (exit 2)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read cassette {path}: {exc.strerror or exc}") from None
    lines = text.split("\n")
    if text and not text.endswith("\n"):
        raise UsageError(f"{path}:{len(lines)}: cassette is truncated (its last line is incomplete): record it again")
    cassette: Cassette | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}:{exc.colno}: cassette is corrupt: {exc.msg}") from None
        if cassette is None:
            if not isinstance(doc, dict) or "cassette" not in doc:
                raise UsageError(f"{path}:{number}: not a cassette (its first line has no `cassette` header)")
            if doc["cassette"] != FORMAT:
                raise UsageError(f"{path}:{number}: cassette format {doc['cassette']!r} is not supported "
                                 f"(this runner reads format {FORMAT})")
            cassette = Cassette(path=path, head=doc)
            continue
        if not isinstance(doc, dict) or not {"step", "attempt", "taskSha256", "agentType"} <= doc.keys() \
                or ("answer" not in doc and "error" not in doc):
            raise UsageError(f"{path}:{number}: cassette is corrupt: an exchange needs step, attempt, "
                             "taskSha256, agentType and an answer or an error")
        cassette.add(doc, number)
    if cassette is None:
        raise UsageError(f"{path}: cassette is empty")
    return cassette


class Recorder:
    """Appends exchanges to a cassette file as they happen (one flushed line each, so a killed
    run leaves every finished exchange on record), redacted like every other output."""

    def __init__(self, path: Path, redact: Callable[[Any], Any] = lambda o: o,
                 existing: Cassette | None = None) -> None:
        self.path = path
        self.redact = redact
        self.existing = existing  # --replay-missing=run: only new exchanges are added
        self._lock = threading.Lock()
        self._file: Any = None

    def start(self, pattern: Any, agents: Iterable[AgentInfo]) -> None:
        try:
            if self.existing is not None:
                self._file = self.path.open("a")
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w")
        except OSError as exc:
            raise UsageError(f"cannot write cassette {self.path}: {exc.strerror or exc}") from None
        self._write(header(pattern, agents))

    def record(self, entry: dict[str, Any]) -> None:
        if self.existing is not None and self.existing.has(entry):
            return
        self._write(self.redact(entry))

    def _write(self, doc: dict[str, Any]) -> None:
        line = json.dumps(doc, default=str) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def exchange(step: str, item: int | None, slot: int, task: str, info: AgentInfo, record: Any,
             failure: Any = None) -> dict[str, Any]:
    """One cassette line: the task's fingerprint and the attempt's answer (an ``AttemptRecord``:
    result, accepted confidence, reasoning, usage) or its failure (an ``AgentFailure``), with
    its change patch if any. A rejected answer (below ``minConfidence``) is kept as an answer."""
    entry: dict[str, Any] = {"step": step, "item": item, "slot": slot, "attempt": record.attempt,
                             "agent": info.id, "agentType": info.type, "capabilities": sorted(info.capabilities),
                             "task": task, "taskSha256": task_sha(task)}
    if failure is not None and record.status != "rejected":
        entry["error"] = {"kind": failure.kind.value, "message": str(failure)}
    else:
        entry["answer"] = {"result": record.result, "confidence": record.confidence, "reasoning": record.reasoning}
        if record.usage:
            entry["answer"]["usage"] = dict(record.usage)
    change = record.change
    if change is not None and change.get("patch"):
        try:
            entry["patch"] = Path(change["patch"]).read_text(errors="replace")
        except OSError:
            pass
    return entry
