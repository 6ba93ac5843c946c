"""``gc_local`` with real processes: a run killed with SIGKILL leaves an agent that ignores
SIGHUP; gc finds it by its environment and kills it, and leaves a live run's process alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lifecycle_helpers import wait_for
from local_helpers import PROGRAMS, gone, run_processes

from runner.execute.gc_local import gc_local

pytestmark = pytest.mark.pty

PATTERN = """
name: stuck
steps:
  - id: s
    agents: {capabilities: [x], min: 1}
    task: "go"
"""


def test_gc_kills_what_a_killed_run_left_and_spares_a_live_run(tmp_path):
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: p
agents:
  - id: stubborn
    command: [{sys.executable}, {PROGRAMS / 'ignore_term.py'}]
    capabilities: [x]
""")
    state = tmp_path / "state"
    runner = subprocess.Popen([sys.executable, "-m", "runner", "apply", "pattern.yaml", "--pool", "pool.yaml",
                               "--state-dir", str(state), "-q"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # once it printed its line it only sleeps: the runner's death cannot break a write of it
    log = wait_for(lambda: next((f for f in state.glob("runs/*/agents/stubborn.log") if "stubborn" in f.read_text()),
                                None), timeout=20)
    run_id = log.parents[1].name
    runner.kill()
    runner.wait()
    left = run_processes(run_id)
    assert left, "the agent ignores SIGHUP: it survives its runner"

    live_dir = state / "runs" / "live-run"
    live_dir.mkdir(parents=True)
    (live_dir / "run.json").write_text(json.dumps({"runId": "live-run", "pid": os.getpid()}))
    env = {**os.environ, "RUNNER_MANAGED": "1", "RUNNER_RUN_ID": "live-run", "RUNNER_AGENT_ID": "alive"}
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        # Other runs' leftovers on this machine (an earlier, failed test) may show up too: look at ours.
        seen = {(x.run_id, x.killed) for x in gc_local([state], dry_run=True)}
        assert (run_id, False) in seen and not any(r == "live-run" for r, _ in seen)
        assert gc_local([state], dry_run=True, run_id="another-run") == []
        found = gc_local([state], run_id=run_id)
        assert {(x.run_id, x.agent_id, x.killed) for x in found} == {(run_id, "stubborn", True)}
        assert gc_local([state], run_id="live-run") == []
        assert all(gone(p.pid) for p in left)
        assert live.poll() is None
    finally:
        live.kill()
        live.wait()
    assert run_processes(run_id) == []


def test_without_a_run_record_only_orphans_count_as_left_behind(tmp_path):
    env = {**os.environ, "RUNNER_MANAGED": "1", "RUNNER_RUN_ID": "unknown-run"}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        assert [x for x in gc_local([tmp_path], dry_run=True) if x.run_id == "unknown-run"] == []  # its parent lives
    finally:
        child.kill()
        child.wait()
