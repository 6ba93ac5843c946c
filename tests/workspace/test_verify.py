"""The verify command: exit status, output tail, timeout kills the whole group."""

from __future__ import annotations

import threading
from pathlib import Path

from runner.workspace.verify import FEEDBACK_CHARS, run_verify


def test_exit_zero_is_verified_and_the_environment_reaches_the_command(tmp_path: Path) -> None:
    v = run_verify('test "$X" = 1 && echo "in $PWD"', tmp_path, timeout=30, env={"X": "1"})
    assert v.ok and v.exit_code == 0 and f"in {tmp_path}" in v.output


def test_a_failure_keeps_the_tail_of_the_output(tmp_path: Path) -> None:
    v = run_verify("seq 1 5000; echo boom >&2; exit 3", tmp_path, timeout=30, env={})
    assert not v.ok and v.exit_code == 3
    assert v.output.endswith("5000\nboom\n") and len(v.output) == FEEDBACK_CHARS


def test_a_timeout_kills_the_command_and_what_it_started(tmp_path: Path) -> None:
    v = run_verify(f"(sleep 30; touch {tmp_path}/late) & sleep 30", tmp_path, timeout=0.3, env={})
    assert not v.ok and v.timed_out and v.exit_code is None and "timed out after 0.3s" in v.output
    assert v.duration_ms < 10_000


def test_a_stopping_run_stops_the_verify(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    v = run_verify("sleep 30", tmp_path, timeout=None, env={}, stopping=stop)
    assert not v.ok and v.exit_code is None
