"""``runner runs list|show`` and ``runner logs`` on journal directories the tests write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from journal_fixture import hold_lock, write_run

from runner.cli import main


def cli(*args: str, state_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--state-dir", str(state_dir)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def state(tmp_path):
    write_run(tmp_path, "20261125-140000-aaaaaa", started="2026-11-25T14:00:00.000Z")
    running = write_run(tmp_path, "20261125-150000-bbbbbb", started="2026-11-25T15:00:00.000Z", finished=False)
    # its runner is gone; run.json's pid is our own (alive) one, as a reused pid would be
    write_run(tmp_path, "20261125-160000-cccccc", started="2026-11-25T16:00:00.000Z", finished=False)
    with hold_lock(running):
        yield tmp_path


def test_runs_list_newest_first_with_status(state):
    code, out = cli("runs", "list", state_dir=state)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["RUN", "ID", "PATTERN", "POOL", "STATUS", "STARTED", "DURATION"]
    assert [line.split()[0] for line in lines[1:]] == ["20261125-160000-cccccc", "20261125-150000-bbbbbb",
                                                       "20261125-140000-aaaaaa"]
    assert [line.split()[3] for line in lines[1:]] == ["unfinished", "running", "failed"]
    assert lines[3].split()[-1] == "9.0s"
    code, out = cli("runs", "list", "--json", state_dir=state)
    assert [r["status"] for r in json.loads(out)] == ["unfinished", "running", "failed"]


def test_runs_list_without_runs(tmp_path):
    assert cli("runs", "list", state_dir=tmp_path) == (0, f"no runs in {tmp_path / 'runs'}\n")


def test_runs_show_a_finished_run(state):
    code, out = cli("runs", "show", "20261125-14", state_dir=state)  # a unique prefix
    assert code == 0
    assert "status    failed (exit code 1)" in out
    assert any(line.split()[:6] == ["lint", "succeeded", "0.90", "2.0s", "3", "pass:2,fail:1"] for line in out.splitlines())
    assert any(line.split()[:2] == ["test", "failed"] for line in out.splitlines())
    assert any(line.split() == ["a2", "claude", "template:claude", "-", "http://127.0.0.1:9000", "-"]
               for line in out.splitlines())
    assert "usage     30 tokens · $0.0100" in out  # the run's usage (result.json)
    assert any(line.split()[:9] == ["lint", "succeeded", "0.90", "2.0s", "3", "pass:2,fail:1", "30", "tokens", "·"]
               for line in out.splitlines())
    assert "error (test): crash: all 2 attempts failed" in out
    code, out = cli("runs", "show", "20261125-140000-aaaaaa", "--json", state_dir=state)
    assert json.loads(out)["steps"][0]["id"] == "lint"


def test_runs_show_a_running_run_from_its_events(state):
    code, out = cli("runs", "show", "latest", state_dir=state)
    assert code == 0 and "status    unfinished" in out
    assert any(line.split()[:4] == ["lint", "succeeded", "0.90", "2.0s"] for line in out.splitlines())
    assert any(line.split()[:2] == ["test", "pending"] for line in out.splitlines())


def test_unknown_and_ambiguous_run_ids_are_usage_errors(state):
    code, out = cli("runs", "show", "nope", state_dir=state)
    assert code == 2 and "no run 'nope'" in out
    code, out = cli("logs", "2026", state_dir=state)
    assert code == 2 and "ambiguous" in out


def test_logs_prints_transcripts_and_remote_outputs(state):
    code, out = cli("logs", "20261125-140000-aaaaaa", state_dir=state)
    assert code == 0
    assert out == ("==> agent a1 <==\n$ checker --lint\nall good\n\n\n"
                   "==> agent a3 <==\na3 linted too\n\n"
                   "==> step lint, attempt 1 on a2 (ok) <==\nremote says pass\n")


def test_logs_filters_by_step_and_agent(state):
    code, out = cli("logs", "20261125-140000-aaaaaa", "--step", "test", state_dir=state)
    assert code == 0 and "agent a1" in out and "a3" not in out and "remote" not in out
    code, out = cli("logs", "20261125-140000-aaaaaa", "--step", "lint", state_dir=state)
    assert "agent a3" in out and "remote says pass" in out  # a3 voted on lint (result.json)
    code, out = cli("logs", "20261125-140000-aaaaaa", "--agent", "a3", state_dir=state)
    assert out == "a3 linted too\n"


def test_logs_redacts_key_shapes(tmp_path):
    write_run(tmp_path, "r1", secret="export KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrSt")
    code, out = cli("logs", "r1", "--agent", "a1", state_dir=tmp_path)
    assert "export KEY=***" in out and "AbCdEf" not in out


def test_logs_follow_prints_appends_until_the_run_finishes(tmp_path):
    run_dir = write_run(tmp_path, "r-follow", finished=False)
    lock = hold_lock(run_dir)  # the run is going on: -f waits for its end
    proc = subprocess.Popen([sys.executable, "-m", "runner", "logs", "r-follow", "--agent", "a1", "-f",
                             "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout.readline() == "$ checker --lint\n"
        with (run_dir / "agents" / "a1.log").open("a") as fh:
            fh.write("appended later\n")
        deadline = time.monotonic() + 10
        seen = ""
        while "appended later" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.readline()
        assert "appended later" in seen
        (run_dir / "result.json").write_text(json.dumps({"status": "succeeded"}))
        assert proc.wait(timeout=10) == 0
    finally:
        lock.release()
        proc.kill()
        proc.wait()
        proc.stdout.close()
