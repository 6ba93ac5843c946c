"""Names in a run directory, and the words for a run's status that the journal itself decides.

A finished run's status is the executor's (``succeeded``, ``failed``, ``interrupted``,
``error``: see docs/results.md). A run without one is ``running`` while its journal's lock is
held, else ``killed`` once ``runner gc`` marked it so, else ``unfinished`` (its runner ended
without finishing it: killed, or the machine went down).
"""

from __future__ import annotations

RUN_FILE = "run.json"
RESULT_FILE = "result.json"
EVENTS_FILE = "events.jsonl"
LOCK_FILE = ".lock"
AGENTS_DIR = "agents"

RUNNING = "running"
UNFINISHED = "unfinished"
KILLED = "killed"

RUN_KILLED = "run_killed"  # the event ``mark_killed`` appends

# A step's statuses once it is over (the others: pending, running, waiting; docs/results.md)
STEP_FINAL = frozenset({"succeeded", "failed", "skipped", "cancelled"})
