"""400 local agents at once, through the real CLI: every one runs, finishes and is on record.

Each agent registers (an empty file named by its pid) and then blocks on a FIFO; the test lets
them all go only once all 400 are running, so the run really holds 400 PTY sessions (about
2,000 file descriptors, past select()'s 1,024) at the same moment. The runner starts with a
soft open-files limit of 1,024, as many machines set it: it raises it itself.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time

import pytest
from e2e_run import RUNNER, env, events, run_dirs, write_yaml

pytestmark = [pytest.mark.scale, pytest.mark.pty]
AGENTS = 400


def _low_fd_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


def test_400_concurrent_local_agents_complete(tmp_path):
    here, fifo = tmp_path / "here", tmp_path / "go"
    here.mkdir()
    os.mkfifo(fifo)
    # `<>`: opening a FIFO read-write never blocks; each agent then takes one byte of its own.
    script = f'exec 3<>"{fifo}"; : > "{here}/$$"; head -c 1 <&3 >/dev/null; echo ok'
    write_yaml(tmp_path / "pool.yaml", {
        "kind": "pool", "name": "scale",
        "runtimes": [{"type": "local", "maxParallel": AGENTS}],
        "agents": [{"id": "w", "command": ["sh", "-c", script], "capabilities": ["work"]}],
    })
    write_yaml(tmp_path / "pattern.yaml", {
        "name": "scale", "concurrency": AGENTS,
        "steps": [{"id": "fan", "agents": {"capabilities": ["work"]}, "forEach": f"range({AGENTS}) | list",
                   "task": "item {{ item }}", "timeout": "90s"}],
    })
    proc = subprocess.Popen([RUNNER, "apply", "pattern.yaml", "--pool", "pool.yaml", "-q", "-o", "result.json"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_low_fd_limit)
    try:
        deadline = time.monotonic() + 80
        while len(os.listdir(here)) < AGENTS and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        at_once = len(os.listdir(here))
    finally:
        with open(fifo, "w") as go:  # let every agent finish, whatever happened
            go.write("x" * AGENTS)
        out, err = proc.communicate(timeout=100)
    assert at_once == AGENTS, f"only {at_once} agents ran at once; stderr: {err[-2000:]}"
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "Traceback" not in out
    result = json.loads((tmp_path / "result.json").read_text())
    attempts = result["steps"][0]["attempts"]
    assert len(attempts) == AGENTS
    assert {(a["status"], a["result"]) for a in attempts} == {("ok", "ok")}
    run_events = events(run_dirs(tmp_path)[0])
    started = sum(e["event"] == "attempt_started" for e in run_events)
    finished = sum(e["event"] == "attempt_finished" for e in run_events)
    assert started == finished == AGENTS  # no attempt left running
