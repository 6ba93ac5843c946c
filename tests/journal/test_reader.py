"""Reading journals back: the list of runs, one run's status (by the journal's lock), gc's ``killed``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runner
from runner import api
from runner.errors import UsageError
from runner.journal import (
    EVENTS_FILE,
    Journal,
    RunLock,
    RunRecord,
    find_run,
    is_running,
    list_runs,
    load_run,
    mark_killed,
    read_events,
)


def make_run(state: Path, run_id: str, *, started: str | None, result: dict | None = None, finish=None):
    j = Journal(state / "runs" / run_id)
    if started:
        j.write_json("run.json", {"runId": run_id, "pattern": "p-" + run_id, "startedAt": started})
    if result is not None:
        j.write_json("result.json", result)
    if finish:
        j.event("run_finished", status=finish, exitCode=1)
    return j


def test_list_runs_newest_first_with_status(tmp_path):
    make_run(
        tmp_path,
        "b",
        started="2026-01-02T00:00:00.000Z",
        result={"status": "ok", "exitCode": 0, "finishedAt": "2026-01-02T00:01:00.000Z", "durationMs": 60000},
    ).close()
    make_run(tmp_path, "a", started="2026-01-03T00:00:00.000Z", finish="failed").close()
    make_run(tmp_path, "c", started="2026-01-01T00:00:00+00:00").close()
    running = make_run(tmp_path, "d", started="2025-12-31T23:59:59.000Z")
    try:
        runs = list_runs(tmp_path)
        assert [r.run_id for r in runs] == ["a", "b", "c", "d"]
        assert [r.status for r in runs] == ["failed", "ok", "unfinished", "running"]
        assert runs[1] == RunRecord(
            dir=tmp_path / "runs" / "b",
            run_id="b",
            status="ok",
            pattern="p-b",
            started_at="2026-01-02T00:00:00.000Z",
            finished_at="2026-01-02T00:01:00.000Z",
            exit_code=0,
            duration_ms=60000,
        )
        assert runs[0].exit_code == 1 and runs[0].finished_at is not None
        assert [r.finished for r in runs] == [True, True, True, False]
    finally:
        running.close()
    assert list_runs(tmp_path)[3].status == "unfinished"


def test_list_runs_reconstructs_from_events_alone(tmp_path):
    with Journal(tmp_path / "runs" / "r") as j:
        j.event("run_started", runId="r", pattern={"name": "review"}, pool="local", inputs={})
        j.event("run_finished", status="succeeded", exitCode=0)
    (s,) = list_runs(tmp_path)
    assert (s.status, s.pattern, s.pool, s.exit_code) == ("succeeded", "review", "local", 0)
    assert s.started_at is not None and s.finished_at is not None
    assert s.summary() == {"runId": "r", "pattern": "review", "pool": "local", "status": "succeeded",
                           "startedAt": s.started_at, "durationMs": None}


def test_list_runs_without_a_start_time_sorts_by_directory_age(tmp_path):
    old = tmp_path / "runs" / "zzz-old"
    old.mkdir(parents=True)
    os.utime(old, (1, 1))
    make_run(tmp_path, "aaa-new", started=None).close()
    assert [r.run_id for r in list_runs(tmp_path)] == ["aaa-new", "zzz-old"]
    assert [r.status for r in list_runs(tmp_path)] == ["unfinished", "unfinished"]


def test_list_runs_of_empty_state_dir(tmp_path):
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "missing") == []
    assert api.list_runs(tmp_path / "missing") == []


# ---------------------------------------------------------------- running: the lock, not the pid


def test_a_live_pid_without_the_lock_is_not_running(tmp_path):
    """run.json names this very (alive) process, as a reused pid would: the lock decides."""
    run_dir = tmp_path / "runs" / "r"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"runId": "r", "pid": os.getpid()}))
    assert load_run(run_dir).status == "unfinished" and not is_running(run_dir)
    with RunLock(run_dir):
        assert load_run(run_dir).status == "running" and is_running(run_dir)
    assert load_run(run_dir).status == "unfinished"


HOLDER = textwrap.dedent(
    """
    import sys, time
    from runner.journal import RunLock

    lock = RunLock(sys.argv[1])
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_the_lock_of_a_sigkilled_runner_is_gone_with_it(tmp_path):
    run_dir = tmp_path / "runs" / "r"
    env = {**os.environ, "PYTHONPATH": str(Path(runner.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline() == "held\n"
        assert is_running(run_dir)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert not is_running(run_dir) and load_run(run_dir).status == "unfinished"


# ---------------------------------------------------------------- killed (runner gc)


def test_mark_killed_marks_only_an_unfinished_run(tmp_path):
    make_run(tmp_path, "done", started="2026-01-01T00:00:00.000Z", result={"status": "failed"}).close()
    make_run(tmp_path, "dead", started="2026-01-02T00:00:00.000Z").close()
    live = make_run(tmp_path, "live", started="2026-01-03T00:00:00.000Z")
    runs = tmp_path / "runs"
    try:
        assert not mark_killed(runs / "live")  # running: never touched
        assert not mark_killed(runs / "done")  # finished: its status stays
        assert mark_killed(runs / "dead")
        assert not mark_killed(runs / "dead")  # once is enough
        assert [r.status for r in list_runs(tmp_path)] == ["running", "killed", "failed"]
        assert [e["event"] for e in read_events(runs / "live")] == []
    finally:
        live.close()
    assert load_run(runs / "live").status == "unfinished"
    (event,) = [e for e in read_events(runs / "dead") if e["event"] == "run_killed"]
    assert event["reason"] == "its runner was killed"


def test_mark_killed_ends_a_torn_line_first(tmp_path):
    run_dir = tmp_path / "runs" / "r"
    with Journal(run_dir) as j:
        j.event("run_started", runId="r", pattern="p")
    with open(run_dir / EVENTS_FILE, "a") as f:
        f.write('{"event": "attempt_fin')  # the runner was killed mid-line
    assert mark_killed(run_dir, reason="killed by a test")
    assert [e["event"] for e in read_events(run_dir)] == ["run_started", "run_killed"]
    assert load_run(run_dir).status == "killed" and load_run(run_dir).finished


def test_a_directory_no_journal_ever_locked_is_not_marked(tmp_path):
    (tmp_path / "runs" / "stray").mkdir(parents=True)
    assert not mark_killed(tmp_path / "runs" / "stray")
    assert load_run(tmp_path / "runs" / "stray").status == "unfinished"


# ---------------------------------------------------------------- finding a run


def test_find_run_by_id_prefix_or_latest(tmp_path):
    for run_id, started in (("20260101-aaa", "2026-01-01T00:00:00.000Z"), ("20260102-bbb", "2026-01-02T00:00:00.000Z"),
                            ("20260102-bbc", "2026-01-02T00:00:01.000Z")):
        make_run(tmp_path, run_id, started=started).close()
    assert find_run(tmp_path, "latest").run_id == "20260102-bbc"
    assert find_run(tmp_path, "20260101").run_id == "20260101-aaa"
    assert api.get_run(tmp_path, "20260102-bbb").run_id == "20260102-bbb"
    with pytest.raises(UsageError, match=r"run id '20260102' is ambiguous: 20260102-bbc, 20260102-bbb"):
        find_run(tmp_path, "20260102")
    with pytest.raises(UsageError, match=r"no run 'nope' in .*runs \(`runner runs list` shows the runs\)"):
        find_run(tmp_path, "nope")
