"""The journal of a run: written as things happen, read back by ``runner runs``, ``runner logs``,
``runner agents status``, ``runner gc`` and the Python API (``runner.api.list_runs``).

Layout of ``<state-dir>/runs/<run-id>/``::

    run.json            written at the start (atomic): runId, pattern, pool, inputs, startedAt, pid
    events.jsonl        one JSON object a line: {"time": ISO-8601 UTC (ms), "event": NAME, ...fields}
    agents/<id>.log     each agent's transcript (bounded: ``runner.journal.caps``)
    texts/<hash>.txt    the whole of a string cut in events.jsonl / result.json (``caps``)
    result.json         written at the end (atomic); its schema is schemas/result.schema.json
    .lock               held (flock, shared) while the run's Journal is open: "running" or not

Modules: ``writer`` (``Journal``, ``Transcript``), ``reader`` (``RunRecord``, ``load_run``,
``list_runs``, ``find_run``, ``read_events``), ``liveness`` (the lock: ``is_running``,
``RunLock``), ``caps`` (bounds on transcripts and long strings), ``killed`` (``mark_killed``, for ``runner gc``), ``layout`` (file names and
status words), ``jsonable`` (making any value JSON, redacted).

A run's status: what the executor recorded once it finished (``succeeded``, ``failed``,
``interrupted``, ``error``); before that ``running`` while the lock is held, ``killed`` once
``runner gc`` marked it, else ``unfinished``. The pid in ``run.json`` is informative only: a
pid may be reused after a crash, the lock cannot outlive its process.
"""

from __future__ import annotations

from runner.journal.jsonable import iso_time
from runner.journal.killed import mark_killed
from runner.journal.layout import EVENTS_FILE, KILLED, LOCK_FILE, RUNNING, UNFINISHED
from runner.journal.liveness import RunLock, is_running
from runner.journal.reader import RunRecord, find_run, list_runs, load_result, load_run, read_events
from runner.journal.writer import Journal, Transcript

__all__ = [
    "EVENTS_FILE",
    "KILLED",
    "LOCK_FILE",
    "RUNNING",
    "UNFINISHED",
    "Journal",
    "RunLock",
    "RunRecord",
    "Transcript",
    "find_run",
    "is_running",
    "iso_time",
    "list_runs",
    "load_result",
    "load_run",
    "mark_killed",
    "read_events",
]
