"""Ctrl-C and SIGTERM during `runner apply`: the right exit code, no process of the run left,
and the journal keeps what finished before the signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_run import (
    RUNNER,
    agent_cmd,
    assert_no_traceback,
    env,
    events,
    processes_of_run,
    run_dirs,
    write_yaml,
)

pytestmark = pytest.mark.pty


def wait_for(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize(("signum", "target", "code"), [
    (signal.SIGINT, "pid", 130), (signal.SIGINT, "group", 130),
    (signal.SIGTERM, "pid", 143), (signal.SIGTERM, "group", 143),
])
def test_a_signal_during_apply_stops_every_agent_and_keeps_the_journal(
        tmp_path: Path, signum: int, target: str, code: int) -> None:
    slow = tmp_path / "slow.pid"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "slowpoke", "command": agent_cmd("slow", str(slow)), "capabilities": ["slow"]}],
        "templates": [{"name": "sh", "command": ["sh", "-s"], "capabilities": ["shell"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "interrupted", "steps": [
        {"id": "quick", "agents": {"capabilities": ["shell"]}, "task": "echo done; echo CONFIDENCE: 1"},
        {"id": "long", "needs": ["quick"], "agents": {"capabilities": ["slow"]}, "task": "take your time"}]})
    # its own process group, as a shell runs a foreground job; a terminal signals that group
    proc = subprocess.Popen([RUNNER, "apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        wait_for(lambda: slow.exists() and slow.read_text().strip() != "")
        agent_pid = int(slow.read_text())
        run_dir = run_dirs(tmp_path)[0]
        run_id = json.loads((run_dir / "run.json").read_text())["runId"]
        wait_for(lambda: len(processes_of_run(run_id)) >= 2)  # the agent and its detached grandchild
        assert any(p.pid == agent_pid for p in processes_of_run(run_id))
        if target == "pid":
            os.kill(proc.pid, signum)
        else:
            os.killpg(proc.pid, signum)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, out + err
    assert_no_traceback(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert processes_of_run(run_id) == []
    finished = [e for e in events(run_dir) if e["event"] == "step_finished"]
    assert [(e["step"], e["status"]) for e in finished][:1] == [("quick", "succeeded")]
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "interrupted" and result["exitCode"] == code
    steps = {s["id"]: s for s in result["steps"]}
    assert steps["quick"]["status"] == "succeeded" and steps["quick"]["output"] == "done"
    assert steps["long"]["status"] == "cancelled"
    assert [(a["status"], a["errorKind"]) for a in steps["long"]["attempts"]] == [("cancelled", "cancelled")]
    assert json.loads((tmp_path / "result.json").read_text())["runId"] == run_id  # --output too


@pytest.mark.slow  # fast lane: signals: the other tests here, lifecycle/test_shutdown.py
def test_a_second_ctrl_c_during_the_cleanup_still_reports_the_run(tmp_path: Path) -> None:
    stubborn = Path(__file__).resolve().parents[1] / "helpers" / "programs" / "ignore_term.py"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "runtimes": [{"type": "local", "grace": 1}], "agents": [
        {"id": f"stubborn{i}", "command": [sys.executable, str(stubborn)], "capabilities": [f"s{i}"]}
        for i in (1, 2)]})
    # two steps side by side: their tasks run on worker threads, the main thread waits, gets the
    # signals and stops the agents (which ignore SIGTERM: the stop waits out the grace)
    write_yaml(tmp_path / "p.yaml", {"name": "twice", "steps": [
        {"id": f"s{i}", "agents": {"capabilities": [f"s{i}"]}, "task": "x"} for i in (1, 2)]})
    proc = subprocess.Popen([RUNNER, "apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        logs = [f"stubborn{i}.log" for i in (1, 2)]
        wait_for(lambda: run_dirs(tmp_path) and all(
            (run_dirs(tmp_path)[0] / "agents" / log).exists()
            and "stubborn" in (run_dirs(tmp_path)[0] / "agents" / log).read_text() for log in logs))
        run_dir = run_dirs(tmp_path)[0]
        run_id = json.loads((run_dir / "run.json").read_text())["runId"]
        os.kill(proc.pid, signal.SIGINT)
        # the task is cancelled at once; the program ignores SIGTERM, so stopping it waits out the grace
        wait_for(lambda: sum(e["event"] == "attempt_finished" for e in events(run_dir)) == 2)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out + err
    assert_no_traceback(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert f"interrupted by SIGINT: every agent of run {run_id} was stopped" in err
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "interrupted"
    assert processes_of_run(run_id) == []


def test_an_agent_killed_from_outside_mid_task_is_retried(tmp_path: Path) -> None:
    state = tmp_path / "victim.pid"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "victim", "command": agent_cmd("waitkill", str(state)), "capabilities": ["work"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "killed", "steps": [
        {"id": "work", "agents": {"capabilities": ["work"]}, "task": "do it",
         "retry": {"limit": 1, "backoff": {"initial": "10ms"}, "on": ["crash"]}}]})
    proc = subprocess.Popen([RUNNER, "apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: state.exists() and state.read_text().strip() != "")
        os.kill(int(state.read_text()), signal.SIGKILL)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    attempts = json.loads((tmp_path / "result.json").read_text())["steps"][0]["attempts"]
    assert [(a["status"], a["errorKind"]) for a in attempts] == [("failed", "crash"), ("ok", None)]
    assert attempts[1]["result"] == "second wind"


# 10**10 loop iterations that output nothing: before the sandbox checked the run's stop event in
# every iteration, this render could be neither interrupted nor timed out.
ENDLESS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}done"


def endless_render(tmp_path: Path, **pattern: object) -> subprocess.Popen[str]:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "cat", "command": ["cat"], "capabilities": ["x"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "endless", **pattern, "steps": [
        {"id": "a", "agents": {"capabilities": ["x"]}, "task": ENDLESS}]})
    proc = subprocess.Popen([RUNNER, "apply", "p.yaml", "--pool", "pool.yaml"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(e["event"] == "step_started" for d in run_dirs(tmp_path) if (d / "events.jsonl").exists()
                         for e in events(d)), timeout=60)
    return proc


@pytest.mark.slow  # fast lane: the run timeout variant here stops the same template
def test_sigterm_interrupts_a_template_that_renders_for_ever(tmp_path: Path) -> None:
    import psutil

    proc = endless_render(tmp_path)
    try:
        me = psutil.Process(proc.pid)
        cpu = me.cpu_times().user
        wait_for(lambda: me.cpu_times().user > cpu + 1.0, timeout=60)  # the step started: busy rendering
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, out + err
    assert_no_traceback(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert "template failed" not in err
    result = json.loads((run_dirs(tmp_path)[0] / "result.json").read_text())
    assert (result["status"], result["steps"][0]["status"]) == ("interrupted", "cancelled")


def test_the_run_timeout_stops_a_template_that_renders_for_ever(tmp_path: Path) -> None:
    proc = endless_render(tmp_path, timeout="2s")
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, out + err
    assert_no_traceback(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert "error: the run exceeded its timeout of 2s" in err
    step = json.loads((run_dirs(tmp_path)[0] / "result.json").read_text())["steps"][0]
    assert (step["status"], step["error"]) == ("cancelled", {
        "kind": "cancelled", "message": "stopped while rendering a template: the run is stopping"})
