"""Warm pools with real processes: ``runner pool up --detach`` keeps agents ready, ``runner
plan`` shows nothing to spawn, ``runner apply`` uses them (no spawn), a dead one is
restarted, ``runner pool down`` leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from lifecycle_helpers import wait_for

from runner.warm.state import read_state

pytestmark = pytest.mark.pty

ANSWER = Path(__file__).resolve().parents[2] / "helpers" / "programs" / "answer_json.py"
POOL = f"""kind: pool
name: wp
templates:
  - name: echo
    command: [{sys.executable}, {ANSWER}]
    capabilities: [echo]
warmPool: {{echo: 2}}
"""
PATTERN = """
name: twice
steps:
  - id: s
    agents: {capabilities: [echo], min: 2}
    task: "hi"
"""


def runner(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def warm_processes(pool: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("RUNNER_WARM_POOL") == pool:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def warm(tmp_path):
    (tmp_path / "pool.yaml").write_text(POOL)
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    up = runner(tmp_path, "pool", "up", "pool.yaml", "--detach", "--interval", "0.1")
    assert up.returncode == 0, up.stdout + up.stderr
    yield tmp_path
    down = runner(tmp_path, "pool", "down", "pool.yaml")
    assert down.returncode == 0, down.stderr
    assert warm_processes("wp") == []
    assert not (tmp_path / ".runner" / "pools" / "wp.json").exists()


def test_a_warm_pool_serves_a_run_with_zero_spawns(warm):
    status = runner(warm, "pool", "status", "pool.yaml")
    assert status.returncode == 0 and status.stdout.count(" ready ") == 2, status.stdout
    plan = runner(warm, "plan", "pattern.yaml", "--pool", "pool.yaml")
    assert "0 to spawn" in plan.stdout and "warm, at http://127.0.0.1:" in plan.stdout, plan.stdout
    applied = runner(warm, "apply", "pattern.yaml", "--pool", "pool.yaml", "-o", "out.json", "-q")
    assert applied.returncode == 0, applied.stderr
    result = json.loads((warm / "out.json").read_text())
    assert [(a["id"], a["source"], a["spawned"]) for a in result["agents"]] == [
        ("wp-echo-1", "warm", False), ("wp-echo-2", "warm", False)]
    lines = (warm / ".runner" / "runs" / result["runId"] / "events.jsonl").read_text().splitlines()
    agent_events = [e for e in map(json.loads, lines) if e["event"] == "agent_event"]
    # The run connected to the warm agents (discovered -> starting -> ready) and spawned none:
    # a spawned agent's first step is from `spawned`.
    assert {e["agent"] for e in agent_events} == {"wp-echo-1", "wp-echo-2"}
    assert [e for e in agent_events if e["previous"] == "spawned"] == []


def test_a_dead_warm_agent_is_restarted(warm):
    state = read_state(warm / ".runner", "wp")
    first = state["agents"][0]
    os.kill(first["pid"], signal.SIGKILL)

    def replaced():
        now = read_state(warm / ".runner", "wp")
        a = now["agents"][0] if now else {}
        return a.get("pid") != first["pid"] and a.get("ready") and a.get("restarts") == 1

    wait_for(replaced, timeout=20)


def test_pool_up_without_warm_pool_is_a_usage_error(tmp_path):
    (tmp_path / "pool.yaml").write_text("kind: pool\nname: cold\n")
    result = runner(tmp_path, "pool", "up", "pool.yaml")
    assert result.returncode == 2 and "has no warmPool" in result.stderr


@pytest.mark.slow  # fast lane: warm pools: the other tests here
def test_single_use_agents_are_replaced_after_a_task_and_the_pools_token_is_used(tmp_path):
    pool = POOL.replace("name: wp\n", "name: wps\nauth: {tokenEnv: RUNNER_TEST_WARM_TOKEN}\n").replace(
        "    capabilities: [echo]\n", "    capabilities: [echo]\n    metadata: {singleUse: true}\n")
    (tmp_path / "pool.yaml").write_text(pool)
    (tmp_path / "pattern.yaml").write_text(PATTERN)
    env = {**os.environ, "RUNNER_TEST_WARM_TOKEN": "t0ken-warm"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "runner", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env=env)

    up = run("pool", "up", "pool.yaml", "--detach", "--interval", "0.1")
    assert up.returncode == 0, up.stdout + up.stderr  # ready means /health answered with the token
    try:
        before = {a["id"]: a["pid"] for a in read_state(tmp_path / ".runner", "wps")["agents"]}
        applied = run("apply", "pattern.yaml", "--pool", "pool.yaml", "-q")
        assert applied.returncode == 0, applied.stderr

        def replaced():
            state = read_state(tmp_path / ".runner", "wps")
            return state and all(a["replaced"] == 1 and a["ready"] and a["pid"] != before[a["id"]]
                                 for a in state["agents"])

        wait_for(replaced, timeout=20)
    finally:
        assert run("pool", "down", "pool.yaml").returncode == 0
    assert warm_processes("wps") == []


ENV_DUMP = Path(__file__).resolve().parents[2] / "helpers" / "programs" / "env_dump.py"


@pytest.mark.slow  # fast lane: warm pools: the other tests here
def test_warm_agents_get_the_templates_env_and_credentials(tmp_path):
    """A warm agent is started by the supervisor, not the run: its template's env and
    credential references must still reach the agent program (and nothing else of ours)."""
    (tmp_path / "pool.yaml").write_text(f"""kind: pool
name: wpenv
templates:
  - name: env
    command: [{sys.executable}, {ENV_DUMP}]
    capabilities: [env]
    env: {{PLAIN_SETTING: plain-value}}
    credentials: {{AGENT_KEY: {{env: RUNNER_TEST_WARM_SECRET}}}}
warmPool: {{env: 1}}
""")
    (tmp_path / "pattern.yaml").write_text("name: e\nsteps:\n  - id: s\n    agents: {capabilities: [env]}\n"
                                           "    task: go\n")
    env = {**os.environ, "RUNNER_TEST_WARM_SECRET": "s3cret-warm-value", "UNRELATED_VAR": "not-for-agents"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "runner", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env=env)

    up = run("pool", "up", "pool.yaml", "--detach", "--interval", "0.1")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        applied = run("apply", "pattern.yaml", "--pool", "pool.yaml", "-q")
        assert applied.returncode == 0, applied.stderr
        # the answer is the agent's environment; the result's copy of the secret is redacted,
        # so read what the agent saw from the warm server's side: the secret's presence only
        events = (tmp_path / ".runner").rglob("events.jsonl")
        seen = next(json.loads(line) for f in events for line in f.read_text().splitlines()
                    if '"attempt_finished"' in line)["result"]
        assert seen["PLAIN_SETTING"] == "plain-value"
        assert seen["AGENT_KEY"] == "***"  # there (redacted in the journal), not absent
        assert "UNRELATED_VAR" not in seen
    finally:
        down = run("pool", "down", "pool.yaml")
        assert down.returncode == 0, down.stderr
    assert warm_processes("wpenv") == []
