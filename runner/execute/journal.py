"""The on-disk journal of one run, and reading it back.

Layout of ``<state-dir>/runs/<run-id>/``::

    events.jsonl        one JSON object a line: {"time": ISO-8601 UTC (ms), "event": NAME, ...fields}
    run.json            written by the executor at the start (atomic)
    result.json         written by the executor at the end (atomic)
    agents/<id>.log     each agent's transcript
    .lock               held (flock, shared) while a Journal is open: tells "running" from "dead"

Events are appended with one ``write(2)`` each on an ``O_APPEND`` descriptor, so every line
already written survives a ``SIGKILL`` of the process (it is in the kernel) and concurrent
writers never interleave. Durability against a machine crash is bought with ``fsync``: in
the background after each ``step_finished``, synchronously at ``run_finished`` and ``close``.

Every string written — event fields and keys, JSON files, transcripts — goes through the
``redact`` hook first. Values JSON cannot hold are made JSON-able (enums → value, dataclasses
and mappings → objects, sets/tuples → lists, bytes → text, NaN → "nan", anything else →
``str()``); writing never fails because of a value.

The files the executor writes are read by ``list_runs`` with these keys (all optional):
``run.json``: ``runId, pattern, pool, inputs, startedAt``; ``result.json``: ``status,
exitCode, finishedAt``. Times are ``iso_time()`` strings.
"""

from __future__ import annotations

import dataclasses
import enum
import fcntl
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

__all__ = [
    "EVENTS_FILE",
    "Journal",
    "RunSummary",
    "Transcript",
    "iso_time",
    "list_runs",
    "load_result",
    "read_events",
]

EVENTS_FILE = "events.jsonl"
LOCK_FILE = ".lock"
SYNC_IN_BACKGROUND = frozenset({"step_finished", "step_skipped"})
SYNC_NOW = frozenset({"run_finished"})
_MAX_DEPTH = 64

Redact = Callable[[str], str]

_time_cache: tuple[int, str] = (-1, "")


def iso_time(t: float | None = None) -> str:
    """``2026-11-25T14:05:12.345Z`` for ``t`` (default: now)."""
    global _time_cache
    if t is None:
        t = time.time()
    sec = int(t)
    cached_sec, prefix = _time_cache  # one tuple: safe to read while another thread replaces it
    if sec != cached_sec:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _time_cache = (sec, prefix)
    return f"{prefix}.{int((t - sec) * 1000):03d}Z"


class _Cleaner:
    """Makes any value JSON-able and passes every string through the redaction hook."""

    def __init__(self, redact: Redact | None) -> None:
        self.redact = redact

    def text(self, s: str) -> str:
        if self.redact is None:
            return s
        try:
            return self.redact(s)
        except Exception:  # a broken redactor must not leak what it failed on
            return "[redaction failed]"

    def __call__(self, v: Any, depth: int = 0) -> Any:
        t = type(v)
        if t is str:
            return self.text(v)
        if v is None or t is int or t is bool:
            return v
        if t is float:
            return v if math.isfinite(v) else str(v)
        if depth > _MAX_DEPTH:  # cycles and absurd nesting end here
            return self.text(_safe_str(v))
        d = depth + 1
        if t is dict or isinstance(v, Mapping):
            return {self._key(k): self(x, d) for k, x in v.items()}
        if isinstance(v, list | tuple | set | frozenset):
            return [self(x, d) for x in v]
        if isinstance(v, enum.Enum):
            return self(v.value, d)
        if isinstance(v, str):  # subclasses: their own __str__ may say anything
            return self.text(str.__str__(v))
        if isinstance(v, int):
            return int.__index__(v)
        if isinstance(v, float):
            return self(float.__float__(v), d)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: self(getattr(v, f.name, None), d) for f in dataclasses.fields(v)}
        if isinstance(v, bytes | bytearray):
            return self.text(bytes(v).decode("utf-8", "replace"))
        if isinstance(v, PurePath):
            return self.text(str(v))
        return self.text(_safe_str(v))

    def _key(self, k: Any) -> str:
        if isinstance(k, enum.Enum):
            k = k.value
        return self.text(k if type(k) is str else _safe_str(k))


def _safe_str(v: Any) -> str:
    try:
        return str(v)
    except Exception:
        return f"<unprintable {type(v).__name__}>"


def _dumps_line(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "replace")


class Transcript:
    """Append-only text log of one agent (``agents/<id>.log``); thread-safe, ``TextIO``-like.

    Without redaction every ``write`` goes to the file at once. With redaction, whole lines
    are redacted and written at once, while an unfinished last line is held back (up to 8 KiB)
    until its newline, ``flush()`` or ``close()``: a secret split over two reads of a PTY is
    then still seen whole by the redactor. Call ``flush()`` at the end of each attempt.
    """

    _HOLD_MAX = 8192

    def __init__(self, path: Path, clean: _Cleaner) -> None:
        self.path = path
        self._clean = clean
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._held = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            text = (
                bytes(text).decode("utf-8", "replace") if isinstance(text, bytes | bytearray) else str(text)
            )
        with self._lock:
            if self._fd is None:
                return 0  # closed: late output from a reader thread is dropped, not an error
            if self._clean.redact is None:
                self._write(text)
                return len(text)
            buf = self._held + text
            cut = buf.rfind("\n") + 1
            if len(buf) - cut > self._HOLD_MAX:
                cut = len(buf)
            self._held = buf[cut:]
            if cut:
                self._write(self._clean.text(buf[:cut]))
            return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._fd is not None and self._held:
                held, self._held = self._held, ""
                self._write(self._clean.text(held))

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def writable(self) -> bool:
        return True

    def _write(self, text: str) -> None:
        assert self._fd is not None
        _write_all(self._fd, text.encode("utf-8", "replace"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Journal:
    """Writer of one run's journal; thread-safe. Use as a context manager or ``close()`` it.

    ``event(name, **fields)`` appends one line. ``write_json(name, obj)`` replaces a JSON
    file atomically. ``transcript(agent_id)`` gives the agent's log appender (one per agent).
    After ``close()`` further writes are silently dropped (late reader threads must not crash).
    """

    def __init__(self, run_dir: Path, redact: Redact | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._clean = _Cleaner(redact)
        self._lock = threading.Lock()
        # Held shared for our lifetime; the kernel drops it when the process dies (see _alive).
        self._lock_fd = os.open(self.run_dir / LOCK_FILE, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        self._fd: int | None = os.open(
            self.run_dir / EVENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        _end_torn_line(self.events_path, self._fd)
        self._transcripts: dict[str, Transcript] = {}
        self._sync_wanted = threading.Event()
        self._syncer: threading.Thread | None = None

    @property
    def events_path(self) -> Path:
        return self.run_dir / EVENTS_FILE

    def event(self, event: str, /, **fields: Any) -> None:
        """Append ``{"time", "event", **fields}`` as one line; visible to readers at once.

        ``run_started`` also records ``pid``. Fields named ``time`` or ``event`` are kept
        under ``_time`` / ``_event`` rather than overwriting the line's own.
        """
        record: dict[str, Any] = {"time": iso_time(), "event": self._clean.text(event)}
        if event == "run_started":
            fields.setdefault("pid", os.getpid())
        for k, v in fields.items():
            record["_" + k if k in ("time", "event") else self._clean.text(k)] = self._clean(v)
        line = _dumps_line(record)
        with self._lock:
            if self._fd is None:
                return
            _write_all(self._fd, line)
            if event in SYNC_NOW:
                os.fsync(self._fd)
        if event in SYNC_IN_BACKGROUND:
            self._request_sync()

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as ``<run_dir>/<name>`` atomically (temp file, fsync, rename)."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a file name: {name!r}")
        path = self.run_dir / name
        data = (json.dumps(self._clean(obj), ensure_ascii=False, indent=2) + "\n").encode("utf-8", "replace")
        tmp = self.run_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path

    def transcript(self, agent_id: str) -> Transcript:
        """The append-only log ``agents/<agent-id>.log`` (the same object for the same id)."""
        with self._lock:
            t = self._transcripts.get(agent_id)
            if t is None:
                name = re.sub(r"[^A-Za-z0-9._-]", "_", agent_id).lstrip(".") or "_"
                (self.run_dir / "agents").mkdir(exist_ok=True)
                t = self._transcripts[agent_id] = Transcript(
                    self.run_dir / "agents" / f"{name}.log", self._clean
                )
            return t

    def sync(self) -> None:
        """fsync the events file now."""
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def close(self) -> None:
        """Flush transcripts, fsync and close everything, release the run's lock. Idempotent."""
        with self._lock:
            fd, self._fd = self._fd, None
            transcripts = list(self._transcripts.values())
        if self._syncer is not None:  # woken after _fd is None, it ends (see _sync_loop)
            self._sync_wanted.set()
            self._syncer.join()
        for t in transcripts:
            t.close()
        if fd is not None:
            os.fsync(fd)
            os.close(fd)
            os.close(self._lock_fd)  # releases the flock: the run no longer counts as running

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request_sync(self) -> None:
        # fsync costs ~0.2 ms on this disk; the executor must not wait for it per step.
        if self._syncer is None:
            with self._lock:
                if self._syncer is None and self._fd is not None:
                    self._syncer = threading.Thread(target=self._sync_loop, name="journal-fsync", daemon=True)
                    self._syncer.start()
        self._sync_wanted.set()

    def _sync_loop(self) -> None:
        while True:
            self._sync_wanted.wait()
            self._sync_wanted.clear()
            with self._lock:
                fd = self._fd
                if fd is None:
                    return
            try:
                os.fsync(fd)  # outside the lock: writers go on meanwhile (close joins us first)
            except OSError:
                return


def _end_torn_line(path: Path, fd: int) -> None:
    """Reopening a journal a killed process left mid-line: end that line, so ours stay whole."""
    size = os.fstat(fd).st_size
    if not size:
        return
    with open(path, "rb") as f:
        f.seek(size - 1)
        if f.read(1) != b"\n":
            _write_all(fd, b"\n")


# ---------------------------------------------------------------- reading


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSummary:
    """One run as ``runner runs`` lists it.

    ``status``: the executor's final status (from ``result.json`` or the ``run_finished``
    event), else ``running`` while the writing process lives, else ``incomplete``.
    """

    run_id: str
    run_dir: Path
    status: str
    pattern: str | None = None
    started: str | None = None
    finished: str | None = None
    exit_code: int | None = None


def read_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The events of a run in order; a torn (killed mid-write) or garbled line is skipped."""
    try:
        f = open(Path(run_dir) / EVENTS_FILE, "rb")
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def load_result(run_dir: Path) -> dict[str, Any] | None:
    """``result.json`` of a run, or ``None`` when it is missing or unreadable."""
    return _load_json(Path(run_dir) / "result.json")


def _alive(run_dir: Path) -> bool:
    """Whether some process still has a Journal open on ``run_dir``."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases our probe lock at once
    return False


def _pattern_name(v: Any) -> str | None:
    if isinstance(v, Mapping):
        v = v.get("name")
    return v if isinstance(v, str) else None


def summarize(run_dir: Path) -> RunSummary:
    """Summary of one run directory (see ``RunSummary``)."""
    run_dir = Path(run_dir)
    run = _load_json(run_dir / "run.json") or {}
    result = load_result(run_dir) or {}
    pattern, started = _pattern_name(run.get("pattern")), run.get("startedAt")
    status, exit_code, finished = result.get("status"), result.get("exitCode"), result.get("finishedAt")
    if not (pattern and started and status):  # reconstruct what is missing from the events
        for e in read_events(run_dir):
            if e.get("event") == "run_started":
                pattern = pattern or _pattern_name(e.get("pattern"))
                started = started or e.get("time")
            elif e.get("event") == "run_finished":
                status = status or e.get("status")
                exit_code = exit_code if exit_code is not None else e.get("exitCode")
                finished = finished or e.get("time")
    if not status:
        status = "running" if _alive(run_dir) else "incomplete"
    return RunSummary(
        run_id=run_dir.name,
        run_dir=run_dir,
        status=str(status),
        pattern=pattern,
        started=started if isinstance(started, str) else None,
        finished=finished if isinstance(finished, str) else None,
        exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
    )


def _sort_time(s: RunSummary) -> float:
    if s.started:
        try:
            return datetime.fromisoformat(s.started).timestamp()
        except ValueError:
            pass
    try:
        return s.run_dir.stat().st_mtime
    except OSError:
        return 0.0


def list_runs(state_dir: Path) -> list[RunSummary]:
    """Every run under ``<state_dir>/runs``, newest first (by start time, then run id)."""
    runs_dir = Path(state_dir) / "runs"
    try:
        dirs = [p for p in runs_dir.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    summaries = [summarize(d) for d in dirs]
    summaries.sort(key=lambda s: (_sort_time(s), s.run_id), reverse=True)
    return summaries
