"""The local runtime's ``gc`` with real processes and real runs: a run killed with SIGKILL leaves
an agent that ignores SIGHUP; ``runner gc`` finds it by its environment and kills it, and never
touches the agents of a run whose runner still lives (same state dir or another one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lifecycle_helpers import wait_for
from local_helpers import PROGRAMS, gone, run_processes

from runner.journal import KILLED, RUNNING, UNFINISHED, load_run
from runner.runtimes.local_gc import gc_local

pytestmark = pytest.mark.pty

PATTERN = """
name: stuck
steps:
  - id: s
    agents: {capabilities: [x], min: 1}
    task: "go"
"""


def start_run(folder: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``runner apply`` of a run whose agent prints, then sleeps (ignoring SIGTERM/SIGHUP); its run id."""
    before = set(state.glob("runs/*"))
    runner = subprocess.Popen([sys.executable, "-m", "runner", "apply", "pattern.yaml", "--pool", "pool.yaml",
                               "--state-dir", str(state), "-q"], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # once it printed its line it only sleeps: the runner's death cannot break a write of it
    log = wait_for(lambda: next((f for f in state.glob("runs/*/agents/stubborn.log")
                                 if f.parents[1] not in before and "stubborn" in f.read_text()), None), timeout=30)
    return runner, log.parents[1].name


def gc(state: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "runner", "gc", "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_gc_kills_what_a_killed_run_left_and_never_a_live_runs_agents(tmp_path):
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: p
agents:
  - id: stubborn
    command: [{sys.executable}, {PROGRAMS / 'ignore_term.py'}]
    capabilities: [x]
""")
    state = tmp_path / "state"
    killed, dead_run = start_run(tmp_path, state)
    live, live_run = start_run(tmp_path, state)
    try:
        killed.kill()
        killed.wait()
        left = run_processes(dead_run)
        assert left, "the agent ignores SIGHUP: it survives its runner"
        spared = run_processes(live_run)
        assert spared

        # Other runs' leftovers on this machine (an earlier, failed test) may show up too: look at ours.
        listed = gc(state, "--dry-run")
        assert f"run {dead_run}\twould kill" in listed and f"run {dead_run}\twould mark killed" in listed
        assert load_run(state / "runs" / dead_run).status == UNFINISHED
        assert gc_local([state], dry_run=True, run_id="another-run") == []
        for where in (tmp_path / "elsewhere", state):  # another state dir: the live run's journal is not found
            out = gc(where)
            assert live_run not in out
            assert all(p.is_running() for p in spared) and live.poll() is None
        assert all(gone(p.pid) for p in left)
        assert run_processes(dead_run) == []
        assert load_run(state / "runs" / dead_run).status == KILLED  # no longer "unfinished"
        assert load_run(state / "runs" / live_run).status == RUNNING
        assert gc(state, "--run", live_run).strip().endswith("nothing to remove")
        assert all(p.is_running() for p in spared)
    finally:
        for runner in (killed, live):
            if runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
            runner.wait(30)
    assert live.returncode == 143
    assert run_processes(live_run) == []


def test_without_a_run_record_only_orphans_count_as_left_behind(tmp_path):
    env = {**os.environ, "RUNNER_MANAGED": "1", "RUNNER_RUN_ID": "unknown-run"}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        assert [x for x in gc_local([tmp_path], dry_run=True) if x.run_id == "unknown-run"] == []  # its parent lives
    finally:
        child.kill()
        child.wait()
