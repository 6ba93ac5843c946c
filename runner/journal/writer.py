"""Writing the journal of one run: ``Journal`` (events, JSON files, transcripts) and ``Transcript``.

Events are appended with ``write(2)`` on an ``O_APPEND`` descriptor, so every line already
written survives a ``SIGKILL`` of the process (it is in the kernel) and writers never
interleave. Writes are group-committed: a thread adding an event while another thread is
writing leaves its line to that writer (which writes until nothing is pending) instead of
queueing on a lock held across a system call: with 50 agents finishing at once, that convoy
cost milliseconds per stage. Durability against a machine crash is bought with ``fsync``: in
the background after each ``step_finished`` (a burst of them shares one: at most one every
``SYNC_GAP``), synchronously at ``run_finished`` and ``close``. Every line is written at once
either way: a ``kill -9`` loses nothing that was added before it.

Every string written — event fields and keys, JSON files, transcripts — goes through the
``redact`` hook first. Values JSON cannot hold are made JSON-able (enums → value, dataclasses
and mappings → objects, sets/tuples → lists, bytes → text, NaN → "nan", anything else →
``str()``; see ``runner.journal.jsonable``): writing never fails because of a value.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from runner.journal.caps import TRANSCRIPT_ENV, Caps, cutter
from runner.journal.jsonable import Redact, Sanitizer, dumps_line, iso_time
from runner.journal.layout import AGENTS_DIR, EVENTS_FILE
from runner.journal.liveness import RunLock

__all__ = ["Journal", "Transcript"]

SYNC_IN_BACKGROUND = frozenset({"step_finished", "step_skipped"})
SYNC_NOW = frozenset({"run_finished"})
# After a background fsync, the next one waits this long (seconds): the requests made meanwhile
# share it. Back-to-back fsyncs, one per step of a 1,000-step resume (reused steps finish every
# ~0.2 ms), took the scheduler's thread's GIL and CPU for half the run (bench/resume.py).
SYNC_GAP = 0.05


class Transcript:
    """Append-only text log of one agent (``agents/<id>.log``); thread-safe, ``TextIO``-like.

    Without redaction every ``write`` goes to the file at once. With redaction, whole lines
    are redacted and written at once, while an unfinished last line is held back (up to 8 KiB)
    until its newline, ``flush()`` or ``close()``: a secret split over two reads of a PTY is
    then still seen whole by the redactor. Call ``flush()`` at the end of each attempt.
    """

    _HOLD_MAX = 8192

    def __init__(self, path: Path, clean: Sanitizer, limit: int | None = None) -> None:
        self.path = path
        self._clean = clean
        self._limit = limit  # bytes kept (runner.journal.caps); the rest is counted, not written
        self._written = 0
        self._dropped = 0
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._held = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lock = threading.Lock()

    def write(self, data: str | bytes) -> int:
        """Append ``data``; bytes are decoded as UTF-8 across calls (a character split between
        two PTY reads stays whole). Returns ``len(data)``; 0 once closed."""
        with self._lock:
            if self._fd is None:
                return 0  # closed: late output from a reader thread is dropped, not an error
            if self._dropped:  # past the limit: count it, spend nothing on it
                self._dropped += len(data.encode("utf-8", "replace") if isinstance(data, str) else data)
                return len(data)
            if isinstance(data, str):
                text = data
            elif isinstance(data, bytes | bytearray | memoryview):
                text = self._decoder.decode(bytes(data))
            else:
                text = str(data)
            if self._clean.redact is None:
                self._write(text)
                return len(data)
            buf = self._held + text
            cut = buf.rfind("\n") + 1
            if len(buf) - cut > self._HOLD_MAX:
                cut = len(buf)
            self._held = buf[cut:]
            if cut:
                self._write(self._clean.text(buf[:cut]))
            return len(data)

    def flush(self) -> None:
        with self._lock:
            if self._fd is not None and self._held:
                held, self._held = self._held, ""
                self._write(self._clean.text(held))

    def close(self) -> None:
        tail = self._decoder.decode(b"", final=True)  # bytes of an unfinished character
        if tail:
            self.write(tail)
        self.flush()
        with self._lock:
            if self._fd is not None:
                if self._dropped:
                    _write_all(self._fd, f"[runner: {self._dropped:,} bytes of output were dropped]\n".encode())
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def writable(self) -> bool:
        return True

    def _write(self, text: str) -> None:
        assert self._fd is not None
        data = text.encode("utf-8", "replace")
        if self._dropped:
            self._dropped += len(data)
            return
        if self._limit is not None and self._written + len(data) > self._limit:
            keep = max(self._limit - self._written, 0)
            cut = data.rfind(b"\n", 0, keep) + 1  # whole lines only
            self._dropped = len(data) - cut
            data = data[:cut] + (f"[runner: transcript limit of {self._limit:,} bytes reached "
                                 f"({TRANSCRIPT_ENV}); the rest of this agent's output is dropped]\n").encode()
        self._written += len(data)
        _write_all(self._fd, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Journal:
    """Writer of one run's journal; thread-safe. Use as a context manager or ``close()`` it.

    ``event(name, **fields)`` appends one line. ``write_json(name, obj)`` replaces a JSON
    file atomically. ``transcript(agent_id)`` gives the agent's log appender (one per agent).
    After ``close()`` further events and transcript writes are silently dropped (late reader
    threads must not crash); ``write_json`` still works (the executor writes ``result.json``
    whenever it is ready).
    """

    def __init__(self, run_dir: Path, redact: Redact | None = None, caps: Caps | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._caps = caps or Caps()
        # JSON-able and redacted; long strings cut, their whole text in texts/ (one walk)
        self._clean = Sanitizer(redact, cutter(self.run_dir, self._caps.text), self._caps.text)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when a group write ends
        self._pending: list[bytes] = []  # event lines not written yet (group commit)
        self._writing = False  # a thread is writing pending lines (outside the lock)
        self._waiters = 0  # threads waiting for a group write to end (_wait_idle)
        # Held for our lifetime; the kernel drops it when the process dies (runner.journal.liveness).
        self._run_lock = RunLock(self.run_dir)
        self._fd: int | None = os.open(
            self.run_dir / EVENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        _end_torn_line(self.events_path, self._fd)
        self._transcripts: dict[str, Transcript] = {}
        self._sync_wanted = threading.Event()
        self._closing = threading.Event()
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
        if "time" in fields or "event" in fields:
            fields = {"_" + k if k in ("time", "event") else k: v for k, v in fields.items()}
        record.update(self._clean.fields(fields))
        line = dumps_line(record)
        with self._lock:
            if self._fd is None:
                return
            self._pending.append(line)
            if self._writing and event not in SYNC_NOW:
                return  # the thread writing now writes this line too
            while self._writing:  # SYNC_NOW: on disk before we return
                self._wait_idle()
            if self._fd is None:
                return
            self._writing = True
        self._write_pending()
        if event in SYNC_NOW:
            self.sync()
        if event in SYNC_IN_BACKGROUND:
            self._request_sync()

    def _write_pending(self) -> None:
        """Write pending lines until there are none (the caller set ``_writing``). The writer
        role ends under the same lock that saw nothing pending: a line added after that finds
        no writer and writes itself."""
        while True:
            with self._lock:
                fd, batch = self._fd, b"".join(self._pending)
                self._pending.clear()
                if fd is None or not batch:
                    self._writing = False
                    if self._waiters:  # (a notify without waiters still cost ~2 us per event)
                        self._idle.notify_all()
                    return
            try:
                _write_all(fd, batch)  # close() waits for us before closing fd
            except BaseException:
                with self._lock:
                    self._writing = False
                    self._idle.notify_all()
                raise

    def _wait_idle(self) -> None:
        """Wait (holding ``_lock``) until a group write ends."""
        self._waiters += 1
        try:
            self._idle.wait()
        finally:
            self._waiters -= 1

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as ``<run_dir>/<name>`` atomically (temp file, rename).

        No fsync: the rename is atomic against a killed process, which is what the journal
        must survive; an fsync here cost 30 ms per file under load, on every run's path."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a file name: {name!r}")
        path = self.run_dir / name
        # No indent: json's C encoder only serves compact output, 5x faster on a big result.
        data = (json.dumps(self._clean(obj), ensure_ascii=False) + "\n").encode("utf-8", "replace")
        tmp = self.run_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, data)
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
                (self.run_dir / AGENTS_DIR).mkdir(exist_ok=True)
                t = self._transcripts[agent_id] = Transcript(self.run_dir / AGENTS_DIR / f"{name}.log", self._clean,
                                                               self._caps.transcript)
            return t

    def sync(self) -> None:
        """fsync the events file now."""
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def close(self) -> None:
        """Flush transcripts, fsync and close everything, release the run's lock. Idempotent."""
        with self._lock:
            while self._writing:  # a group write in progress finishes first
                self._wait_idle()
            if self._fd is not None and self._pending:
                _write_all(self._fd, b"".join(self._pending))
                self._pending.clear()
            fd, self._fd = self._fd, None
            transcripts = list(self._transcripts.values())
        if self._syncer is not None:  # woken after _fd is None, it ends (see _sync_loop)
            self._closing.set()
            self._sync_wanted.set()
            self._syncer.join()
        for t in transcripts:
            t.close()
        if fd is not None:
            os.fsync(fd)
            os.close(fd)
            self._run_lock.release()  # the run no longer counts as running

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
            self._closing.wait(SYNC_GAP)  # close() ends the wait at once


def _end_torn_line(path: Path, fd: int) -> None:
    """Reopening a journal a killed process left mid-line: end that line, so ours stay whole."""
    size = os.fstat(fd).st_size
    if not size:
        return
    with open(path, "rb") as f:
        f.seek(size - 1)
        if f.read(1) != b"\n":
            _write_all(fd, b"\n")
