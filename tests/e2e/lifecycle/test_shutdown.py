"""Graceful shutdown of ``runner apply`` with real processes: SIGTERM during a 10-agent run
drains (tasks that finish within the drain timeout are recorded), cancels the rest, and
leaves no process of the run; a second Ctrl-C forces."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lifecycle_helpers import wait_for
from local_helpers import run_processes

pytestmark = pytest.mark.pty

SLEEPER = Path(__file__).parent / "programs" / "sleeper.py"
# 10 agents: 4 answer at once, 3 within the drain timeout, 3 never (in time).
DELAYS = [0.1] * 4 + [1.5] * 3 + [3600] * 3

PATTERN = """
name: ten
steps:
  - id: all
    agents: {capabilities: [work], min: 10}
    task: "work"
"""


def write_files(tmp_path: Path) -> tuple[Path, Path]:
    agents = "".join(f"""
  - id: a{i}
    command: [{sys.executable}, {SLEEPER}, "{d}"]
    capabilities: [work]
""" for i, d in enumerate(DELAYS))
    pool = tmp_path / "pool.yaml"
    pool.write_text(f"kind: pool\nname: ten\nagents:{agents}")
    pattern = tmp_path / "pattern.yaml"
    pattern.write_text(PATTERN)
    return pattern, pool


def start_apply(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    pattern, pool = write_files(tmp_path)
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "runner", "apply", str(pattern), "--pool", str(pool),
                             "--state-dir", str(state), "-o", str(tmp_path / "out.json"), *extra],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, state


def events(state: Path) -> list[dict]:
    runs = list((state / "runs").glob("*/events.jsonl")) if (state / "runs").exists() else []
    if not runs:
        return []
    return [json.loads(line) for line in runs[0].read_text().splitlines() if line.strip()]


def finished(state: Path, status: str = "ok") -> list[dict]:
    return [e for e in events(state) if e["event"] == "attempt_finished" and e["status"] == status]


@pytest.fixture
def apply_proc(tmp_path):
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str):
        proc, state = start_apply(tmp_path, *extra)
        procs.append(proc)
        return proc, state

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_sigterm_drains_cancels_the_rest_and_leaves_no_process(apply_proc, tmp_path):
    proc, state = apply_proc("--drain-timeout", "3")
    wait_for(lambda: len(finished(state)) == 4, timeout=20)
    run_id = next((state / "runs").iterdir()).name
    assert len(run_processes(run_id)) >= 6  # the other six are still working
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = proc.communicate(timeout=20)
    took = time.monotonic() - started
    assert proc.returncode == 143, err
    assert 1.0 < took < 3.0 + 5.0, err  # waited for the 1.5 s tasks, not for the endless ones
    assert "waiting up to 3s" in err
    assert run_processes(run_id) == []
    done = finished(state)
    assert sorted(e["agent"] for e in done) == [f"a{i}" for i in range(7)]  # every finished task
    cancelled = {e["agent"] for e in events(state) if e["event"] == "attempt_finished" and e["status"] != "ok"}
    assert cancelled == {"a7", "a8", "a9"}
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["status"] == "interrupted" and result["exitCode"] == 143
    names = [e["event"] for e in events(state)]
    assert "drain_started" in names and names[-1] == "run_finished"


def test_a_second_ctrl_c_forces(apply_proc, tmp_path):
    proc, state = apply_proc("--drain-timeout", "60")
    wait_for(lambda: len(finished(state)) == 4, timeout=20)
    run_id = next((state / "runs").iterdir()).name
    proc.send_signal(signal.SIGINT)
    wait_for(lambda: any(e["event"] == "drain_started" for e in events(state)), timeout=10)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 5
    assert run_processes(run_id) == []
    assert any(e["event"] == "drain_finished" and e["forced"] for e in events(state))
