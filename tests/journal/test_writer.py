from __future__ import annotations

import enum
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import runner
from runner.errors import FailureKind
from runner.journal import EVENTS_FILE, Journal, iso_time, list_runs, load_result, read_events

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def lines(path: Path) -> list[dict]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


# ---------------------------------------------------------------- writing events


def test_event_line_has_time_event_and_fields(tmp_path):
    run = tmp_path / "runs" / "r1"
    with Journal(run) as j:
        j.event("attempt_started", step="review", attempt=1, agent="a1", item=None)
        j.event("agent_event", agent="a1", name="ready", state="ready", detail="")  # `name` is a field
        # the file is complete before close: every event is written at once
        assert len(lines(run / EVENTS_FILE)) == 2
    first, second = lines(run / EVENTS_FILE)
    assert list(first) == ["time", "event", "step", "attempt", "agent", "item"]
    assert ISO_MS.match(first["time"])
    assert first["event"] == "attempt_started" and first["item"] is None
    assert second["name"] == "ready"


def test_run_started_records_pid_and_fields_cannot_clobber_time(tmp_path):
    with Journal(tmp_path) as j:
        j.event("run_started", runId="r", pattern="p", pool="q", inputs={"x": 1})
        j.event("step_started", step="s", time="mine", event="also mine")
    a, b = lines(tmp_path / EVENTS_FILE)
    assert a["pid"] == os.getpid() and a["inputs"] == {"x": 1}
    assert ISO_MS.match(b["time"]) and b["event"] == "step_started"
    assert b["_time"] == "mine" and b["_event"] == "also mine"


def test_iso_time():
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1764079512.3456) == "2025-11-25T14:05:12.345Z"
    assert iso_time(1764079512.9999) == "2025-11-25T14:05:12.999Z"
    assert ISO_MS.match(iso_time())


class Color(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: object


def test_values_json_cannot_hold_are_stringified_never_crash(tmp_path):
    cyclic: list = [1]
    cyclic.append(cyclic)

    class Weird:
        def __str__(self):
            raise RuntimeError("no")

    with Journal(tmp_path) as j:
        j.event(
            "attempt_finished",
            kind=FailureKind.CRASH,
            color=Color.RED,
            point=Point(x=1, y={2, 3}),
            path=Path("/x/y"),
            raw=b"caf\xc3\xa9 \xff",
            nan=math.nan,
            inf=-math.inf,
            tup=(1, "a"),
            keys={1: "one", (2, 3): "pair", Color.RED: "enum"},
            obj=object(),
            weird=Weird(),
            cyclic=cyclic,
            big=10**30,
            surrogate="\udcff",
        )
    (e,) = lines(tmp_path / EVENTS_FILE)
    assert e["kind"] == "crash" and e["color"] == "red"
    assert e["point"]["x"] == 1 and sorted(e["point"]["y"]) == [2, 3]
    assert e["path"] == "/x/y" and e["raw"] == "café \ufffd"
    assert e["nan"] == "nan" and e["inf"] == "-inf"
    assert e["tup"] == [1, "a"]
    assert e["keys"] == {"1": "one", "(2, 3)": "pair", "red": "enum"}
    assert e["obj"].startswith("<object object")
    assert e["weird"] == "<unprintable Weird>"
    assert e["cyclic"][0] == 1 and isinstance(e["cyclic"][1], list)
    assert e["big"] == 10**30
    assert e["surrogate"] == "?"


def test_concurrent_writers_produce_whole_lines(tmp_path):
    n_threads, per_thread = 8, 500
    payload = "x" * 3000  # lines longer than a pipe buffer would be torn by unsynchronised writes
    with Journal(tmp_path) as j:
        start = threading.Barrier(n_threads)

        def work(t: int) -> None:
            start.wait()
            for i in range(per_thread):
                j.event("tick", thread=t, i=i, payload=payload)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    events = lines(tmp_path / EVENTS_FILE)
    assert len(events) == n_threads * per_thread
    for t in range(n_threads):
        assert [e["i"] for e in events if e["thread"] == t] == list(range(per_thread))
    assert all(e["payload"] == payload for e in events)


def test_writes_after_close_are_dropped(tmp_path):
    j = Journal(tmp_path)
    log = j.transcript("a")
    j.event("one")
    j.close()
    j.close()  # idempotent
    j.event("two")
    assert log.closed and log.write("late\n") == 0
    assert [e["event"] for e in read_events(tmp_path)] == ["one"]


def test_background_fsync_thread_ends_with_close(tmp_path):
    before = {t.ident for t in threading.enumerate()}
    j = Journal(tmp_path)
    for i in range(20):
        j.event("step_finished", step=f"s{i}", status="ok")
    j.close()
    assert {t.ident for t in threading.enumerate() if t.name == "journal-fsync"} <= before
    assert len(list(read_events(tmp_path))) == 20


def test_a_burst_of_step_finished_shares_background_fsyncs_and_close_syncs_the_rest(tmp_path, monkeypatch):
    """A 1,000-step resume finishes a step every ~0.2 ms: one fsync each, back to back, cost
    half the run. After a background fsync the next one waits ``SYNC_GAP``; every line is
    written at once all the same, and ``close`` ends the wait and fsyncs."""
    import runner.journal.writer as journal_module

    synced, real_fsync = [], os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(threading.current_thread().name)
        real_fsync(fd)

    monkeypatch.setattr(journal_module, "SYNC_GAP", 3600.0)  # a gap no test waits out
    monkeypatch.setattr(journal_module.os, "fsync", counting_fsync)
    j = Journal(tmp_path)
    for i in range(200):
        j.event("step_finished", step=f"s{i}", status="succeeded")
        assert len(list(read_events(tmp_path))) == i + 1  # written at once: a kill -9 loses nothing
    background = synced.count("journal-fsync")
    assert background <= 2  # the first at once, at most one more (woken while waiting out the gap)
    j.close()  # returns without waiting out the gap
    assert synced.count("journal-fsync") <= background + 1 and synced[-1] != "journal-fsync"


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from runner.journal import Journal

    j = Journal(Path(sys.argv[1]))
    j.event("run_started", runId="killed", pattern="victim")
    i = 0
    while True:
        j.event("tick", i=i, text="some output " * 20)
        j.transcript("agent-1").write(f"line {i}\\n")
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def test_sigkilled_writer_keeps_every_line_written_before_the_kill(tmp_path):
    run = tmp_path / "runs" / "20260101-000000-aaaaaa"
    env = {**os.environ, "PYTHONPATH": str(Path(runner.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(run)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        acked = -1
        deadline = time.monotonic() + 60
        while acked < 300 and time.monotonic() < deadline:
            acked = int(proc.stdout.readline())
        assert acked >= 300
        assert [s.status for s in list_runs(tmp_path)] == ["running"]  # the writer holds the lock
        proc.send_signal(signal.SIGKILL)
        # the writer goes on between our last read and the kill: drain what it said it wrote
        for line in proc.stdout:
            acked = int(line)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    events = list(read_events(run))
    ticks = [e["i"] for e in events if e["event"] == "tick"]
    assert ticks[: acked + 1] == list(range(acked + 1))
    log = (run / "agents" / "agent-1.log").read_text().splitlines()
    assert log[: acked + 1] == [f"line {i}" for i in range(acked + 1)]
    (summary,) = list_runs(tmp_path)
    assert summary.status == "unfinished" and summary.pattern == "victim"


# ---------------------------------------------------------------- reading events


def test_torn_last_line_is_tolerated(tmp_path):
    with Journal(tmp_path) as j:
        j.event("a")
        j.event("b")
    with open(tmp_path / EVENTS_FILE, "ab") as f:
        f.write(b'{"time": "2026-01-01T00:00:00.000Z", "event": "c", "res')
    assert [e["event"] for e in read_events(tmp_path)] == ["a", "b"]
    # a journal reopened later first ends the torn line, so its own lines stay whole
    with Journal(tmp_path) as j:
        j.event("d")
    assert [e["event"] for e in read_events(tmp_path)] == ["a", "b", "d"]


def test_read_events_of_missing_run_is_empty(tmp_path):
    assert list(read_events(tmp_path / "nope")) == []


def test_non_object_lines_are_skipped(tmp_path):
    (tmp_path / EVENTS_FILE).write_text('[1]\n\n{"event": "x"}\n"s"\n')
    assert list(read_events(tmp_path)) == [{"event": "x"}]


# ---------------------------------------------------------------- json files


def test_write_json_is_atomic_and_replaces(tmp_path):
    with Journal(tmp_path) as j:
        j.write_json("result.json", {"status": "ok", "n": 1})
        assert load_result(tmp_path) == {"status": "ok", "n": 1}

        stop = threading.Event()
        seen: list[int] = []
        errors: list[Exception] = []

        def reader() -> None:
            while not stop.is_set():
                try:
                    seen.append(len(json.loads((tmp_path / "result.json").read_text())["data"]))
                except KeyError:
                    pass  # the first version, before the writer's
                except Exception as exc:
                    errors.append(exc)

        t = threading.Thread(target=reader)
        t.start()
        try:
            for i in range(30):
                j.write_json("result.json", {"data": ["x" * 100] * (1000 + i)})
        finally:
            stop.set()
            t.join()
    assert errors == []
    assert load_result(tmp_path)["data"] == ["x" * 100] * 1029
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", EVENTS_FILE, "result.json"]


def test_write_json_rejects_paths(tmp_path):
    with Journal(tmp_path) as j, pytest.raises(ValueError):
        j.write_json("../x.json", {})


def test_load_result_missing_or_broken(tmp_path):
    assert load_result(tmp_path) is None
    (tmp_path / "result.json").write_text("{not json")
    assert load_result(tmp_path) is None
    (tmp_path / "result.json").write_text("[]")
    assert load_result(tmp_path) is None


# ---------------------------------------------------------------- transcripts


def test_transcript_appends_and_is_shared_per_agent(tmp_path):
    with Journal(tmp_path) as j:
        t = j.transcript("pool/claude 1")
        assert j.transcript("pool/claude 1") is t
        assert t.write("hello ") == 6
        t.write("world\n")
        assert (tmp_path / "agents" / "pool_claude_1.log").read_text() == "hello world\n"
        assert j.transcript("../../etc").path.parent == tmp_path / "agents"


def test_transcript_decodes_bytes_split_inside_a_character(tmp_path):
    with Journal(tmp_path) as j:
        t = j.transcript("pty")
        data = "café ✓\n".encode()
        assert t.write(data[:4]) == 4  # ends inside the two bytes of é
        t.write(bytearray(data[4:8]))  # ends inside the three bytes of ✓
        t.write(data[8:])
        t.write(b"bad \xff byte\n\xe2\x9c")  # killed mid-character
    assert (tmp_path / "agents" / "pty.log").read_text() == "café ✓\nbad \ufffd byte\n\ufffd"


# ---------------------------------------------------------------- redaction


def redact(s: str) -> str:
    return s.replace("s3cret", "[REDACTED]")


def test_redaction_applies_to_events_json_and_transcripts(tmp_path):
    with Journal(tmp_path, redact=redact) as j:
        j.event(
            "attempt_finished",
            error="token s3cret refused",
            result={"nested": ["x s3cret y"], "s3cret-key": 1},
            usage=(b"bytes s3cret",),
        )
        j.write_json("run.json", {"inputs": {"token": "s3cret"}, "list": ["s3cret"]})
        t = j.transcript("agent")
        t.write("login with s3")  # a secret split across two reads of a PTY
        t.write("cret please\nprompt> s3cr")
        assert "s3cret" not in (tmp_path / "agents" / "agent.log").read_text()
        t.write("et")
        t.flush()  # the end of an attempt: the held unfinished line is written
        t.write("\nlast s3cret")
    everything = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "s3cret" not in everything
    assert everything.count("[REDACTED]") == 9
    (e,) = read_events(tmp_path)
    assert e["error"] == "token [REDACTED] refused"
    assert e["result"] == {"nested": ["x [REDACTED] y"], "[REDACTED]-key": 1}
    assert (tmp_path / "agents" / "agent.log").read_text() == (
        "login with [REDACTED] please\nprompt> [REDACTED]\nlast [REDACTED]"
    )


def test_broken_redactor_never_leaks(tmp_path):
    def bad(s: str) -> str:
        raise RuntimeError(s)

    with Journal(tmp_path, redact=bad) as j:
        j.event("x", secret="s3cret")
    assert "s3cret" not in (tmp_path / EVENTS_FILE).read_text()


def test_redacting_transcript_does_not_hold_back_forever(tmp_path):
    with Journal(tmp_path, redact=redact) as j:
        t = j.transcript("a")
        t.write("y" * 10000)  # no newline, longer than the hold limit
        assert (tmp_path / "agents" / "a.log").stat().st_size == 10000


def test_a_line_added_during_a_write_is_written_by_that_writer(tmp_path, monkeypatch):
    """Group commit: while one thread is in write(2), another's event returns at once (no
    queueing on the lock) and the writing thread writes that line too before it is done."""
    import runner.journal.writer as journal_module

    real_write, in_write, release = journal_module._write_all, threading.Event(), threading.Event()

    def slow_first_write(fd: int, data: bytes) -> None:
        if not in_write.is_set():
            in_write.set()
            assert release.wait(10)
        real_write(fd, data)

    monkeypatch.setattr(journal_module, "_write_all", slow_first_write)
    j = Journal(tmp_path)
    try:
        first = threading.Thread(target=j.event, args=("first",))
        first.start()
        assert in_write.wait(10)
        second = threading.Thread(target=j.event, args=("second",))
        second.start()
        second.join(5)
        assert not second.is_alive()  # handed its line over instead of waiting
        release.set()
        first.join(5)
        assert [e["event"] for e in lines(tmp_path / EVENTS_FILE)] == ["first", "second"]  # before close()
    finally:
        release.set()
        j.close()


# ---------------------------------------------------------------- caps


def test_a_transcript_past_its_limit_keeps_whole_lines_then_says_what_was_dropped(tmp_path):
    from runner.journal.caps import Caps

    with Journal(tmp_path / "r", caps=Caps(transcript=1000)) as j:
        t = j.transcript("a1")
        for i in range(100):
            t.write(f"line {i:03d} " + "x" * 40 + "\n")  # 50 bytes a line
    text = (tmp_path / "r" / "agents" / "a1.log").read_text()
    head, marker, total = text.splitlines()[-3:]
    assert head == "line 019 " + "x" * 40  # 20 whole lines: 1,000 bytes
    assert marker.startswith("[runner: transcript limit of 1,000 bytes reached (RUNNER_TRANSCRIPT_LIMIT)")
    assert total == "[runner: 4,000 bytes of output were dropped]"


def test_a_long_string_is_cut_in_events_and_json_files_and_kept_whole_in_texts(tmp_path):
    from runner.journal.caps import Caps

    answer = "a" * 50 + "b" * 50
    with Journal(tmp_path / "r", caps=Caps(text=60)) as j:
        j.event("attempt_finished", result=answer, small="ok")
        j.write_json("result.json", {"steps": [{"output": answer}]})
    (event,) = lines(tmp_path / "r" / EVENTS_FILE)
    name = re.search(r"texts/[0-9a-f]{16}\.txt", event["result"]).group(0)
    assert event["result"] == answer[:60] + f"\n[runner: cut at 60 of 100 characters; the whole text is in {name}]"
    assert event["small"] == "ok"
    assert (tmp_path / "r" / name).read_text() == answer
    assert json.loads((tmp_path / "r" / "result.json").read_text())["steps"][0]["output"] == event["result"]
    assert os.listdir(tmp_path / "r" / "texts") == [name.split("/")[1]]  # one file per distinct text


def test_a_long_string_is_cut_once_redacted_and_keys_are_never_cut(tmp_path):
    from runner.journal.caps import Caps

    long_key = "k" * 80
    with Journal(tmp_path / "r", redact=redact, caps=Caps(text=60)) as j:
        j.event("attempt_finished", result=["s3cret " + "x" * 60], detail={long_key: "s3cret"})
    (event,) = lines(tmp_path / "r" / EVENTS_FILE)
    name = re.search(r"texts/[0-9a-f]{16}\.txt", event["result"][0]).group(0)
    assert (tmp_path / "r" / name).read_text() == "[REDACTED] " + "x" * 60  # no secret in texts/ either
    assert event["result"][0].startswith("[REDACTED] xxx") and "cut at 60 of 71 characters" in event["result"][0]
    assert event["detail"] == {long_key: "[REDACTED]"}


@pytest.mark.parametrize(("value", "expected"), [("50M", 50 << 20), ("64k", 64 << 10), ("1000", 1000),
                                                 ("2GiB", 2 << 30), ("0", None)])
def test_caps_from_the_environment(value, expected):
    from runner.journal.caps import Caps

    caps = Caps.from_env({"RUNNER_TRANSCRIPT_LIMIT": value, "RUNNER_TEXT_LIMIT": value})
    assert caps.transcript == caps.text == expected
    assert Caps.from_env({}) == Caps(transcript=50 << 20, text=100_000)


def test_a_bad_cap_is_a_configuration_error():
    from runner.errors import ConfigurationError
    from runner.journal.caps import Caps

    with pytest.raises(ConfigurationError, match="RUNNER_TEXT_LIMIT=`lots`: expected a size such as 50M"):
        Caps.from_env({"RUNNER_TEXT_LIMIT": "lots"})
