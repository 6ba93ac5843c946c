"""Reading the run being resumed: the one-scan reading of a journal accepts and refuses exactly
what reading it line by line does (it only falls back on it to name the bad line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.journal import Journal
from runner.resume.source import _line_by_line, read_strict

START = b'{"time":"2026-01-01T00:00:00.000Z","event":"run_started","runId":"r"}\n'


def _outcome(fn, path: Path, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(path, *args)
    except UsageError as exc:
        return str(exc)


def test_a_journal_runner_wrote_reads_back_event_for_event(tmp_path: Path) -> None:
    with Journal(tmp_path) as j:
        j.event("run_started", runId="r")
        j.event("step_finished", step="s", output="caf\u00e9 \u2713\n\ttab", fingerprint="f", data={"a": [1, None]})
    events = read_strict(tmp_path / "events.jsonl")
    assert events == [json.loads(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    assert events[1]["output"] == "caf\u00e9 \u2713\n\ttab"


@pytest.mark.parametrize("body", [
    b'{"event":"step_started",\n"step":"s"}\n',  # one JSON value over two lines
    b'{"event":"step_started",\r"step":"s"}\n',  # a bare CR: a line break to bytes.splitlines
    b'{"event":"a"} {"event":"b"}\n',  # two values on one line
    b'\n',  # an empty line
    b'[1, 2]\n',
    b'{"event": 3}\n',
    b'"event"\n',
    b'  {"event":"padded"}  \n',  # accepted either way (json.loads takes the spaces)
    b'\xef\xbb\xbf{"event":"bom"}\n',  # a byte-order mark: json.loads of bytes takes it too
    b'{"event":"bad byte \xff"}\n',
    b'{"event":"ok"}\n',
])
def test_the_one_scan_reading_decides_as_the_line_by_line_one(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(START + body + b'{"event":"after"}\n')
    assert _outcome(read_strict, path) == _outcome(_line_by_line, path, path.read_bytes())
