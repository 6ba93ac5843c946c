"""`runner apply` end to end: concurrency and voting, retries after SIGKILL, exit codes, the
embedded default pool."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from e2e_run import agent_cmd, assert_no_traceback, events, run, run_dirs, write_voters, write_yaml

pytestmark = pytest.mark.pty


def test_three_agents_vote_in_parallel_and_the_result_holds_every_answer(tmp_path: Path) -> None:
    marks = write_voters(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "vote", "steps": [
        {"id": "decide", "agents": {"capabilities": ["vote"], "min": 3}, "task": "ship it?",
         "strategy": "parallel", "aggregation": {"type": "voting", "method": "majority"}}],
        "outputs": {"verdict": "{{ steps.decide.output }}"}})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "--output", "result.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    # concurrent: every agent started before any of them finished
    starts = [float((marks / f"{n}.start").read_text()) for n in "abc"]
    ends = [float((marks / f"{n}.end").read_text()) for n in "abc"]
    assert max(starts) < min(ends), (starts, ends)
    result = json.loads((tmp_path / "result.json").read_text())
    step = result["steps"][0]
    answers = {a["agentId"]: (a["status"], a["result"], a["confidence"]) for a in step["attempts"]}
    assert answers == {"a": ("ok", "yes", 0.9), "b": ("ok", "yes", 0.8), "c": ("ok", "no", 0.6)}
    assert step["aggregation"]["type"] == "voting" and step["aggregation"]["method"] == "majority"
    assert step["aggregation"]["votes"] == {"yes": 2, "no": 1}
    assert step["output"] == "yes" and result["outputs"] == {"verdict": "yes"}
    assert "output verdict: yes" in proc.stdout


def test_an_agent_killed_with_sigkill_is_retried_and_the_run_succeeds(tmp_path: Path) -> None:
    state = tmp_path / "attempts.txt"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "fragile", "command": agent_cmd("killonce", str(state)), "capabilities": ["work"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "retry", "steps": [
        {"id": "work", "agents": {"capabilities": ["work"]}, "task": "do it",
         "retry": {"limit": 2, "backoff": {"initial": "50ms"}, "on": ["crash"]}}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    assert state.read_text() == "killed\nanswered\n"
    attempts = json.loads((tmp_path / "result.json").read_text())["steps"][0]["attempts"]
    assert [(a["attempt"], a["status"], a["errorKind"]) for a in attempts] == [(1, "failed", "crash"), (2, "ok", None)]
    assert attempts[1]["result"] == "survived"


def test_a_failing_gate_exits_1(tmp_path: Path) -> None:
    write_yaml(tmp_path / "p.yaml", {"name": "gate", "steps": [
        {"id": "gate", "agents": {"capabilities": ["shell"]}, "task": "echo FAIL; exit 1"}]})
    proc = run(["apply", "p.yaml", "-o", "result.json"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert_no_traceback(proc)
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "failed"
    assert proc.stderr.splitlines()[-1].endswith("shell-1: the program exited with status 1: FAIL")  # says why


def test_an_invalid_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("name: broken\nsteps:\n  - id: x\n    tsk: hi\n")
    proc = run(["apply", "p.yaml"], tmp_path)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert "p.yaml:4:5: $.steps[0].tsk: unknown key `tsk`" in proc.stderr
    assert not (tmp_path / ".runner").exists()


def test_an_unreachable_remote_agent_exits_3_after_bounded_attempts(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "remote", "endpoint": f"http://127.0.0.1:{port}", "capabilities": ["far"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "far", "steps": [
        {"id": "ask", "agents": {"capabilities": ["far"]}, "task": "hello?",
         "retry": {"limit": 2, "backoff": {"initial": "10ms"}, "on": ["infrastructure"]}}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"], tmp_path, timeout=30)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    result = json.loads((tmp_path / "result.json").read_text())
    attempts = result["steps"][0]["attempts"]
    assert [a["errorKind"] for a in attempts] == ["infrastructure"] * 3  # 1 + retry.limit, no storm
    started = [e for e in events(run_dirs(tmp_path)[0]) if e["event"] == "attempt_started"]
    assert len(started) == 3


def test_the_embedded_default_pool_runs_shell_tasks(tmp_path: Path) -> None:
    write_yaml(tmp_path / "p.yaml", {"name": "hi", "steps": [
        {"id": "hello", "agents": {"capabilities": ["shell"]}, "task": "echo hi; echo CONFIDENCE: 0.9"}]})
    proc = run(["apply", "p.yaml", "-o", "result.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    step = json.loads((tmp_path / "result.json").read_text())["steps"][0]
    assert (step["output"], step["confidence"]) == ("hi", 0.9)
    assert "step hello: succeeded confidence 0.90" in proc.stdout


def test_an_agent_whose_start_fails_is_started_once_per_attempt(tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "mute", "command": ["sh", "-c", f"echo started >> {starts}"], "mode": "long-lived",
         "readyPattern": "^never> $", "capabilities": ["mute"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "mute", "steps": [
        {"id": "ask", "agents": {"capabilities": ["mute"]}, "task": "hello?",
         "retry": {"limit": 1, "backoff": {"initial": "10ms"}, "on": ["infrastructure"]}}]})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "-o", "result.json"], tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    attempts = json.loads((tmp_path / "result.json").read_text())["steps"][0]["attempts"]
    assert [a["errorKind"] for a in attempts] == ["infrastructure", "infrastructure"]
    assert "did not show its prompt" in attempts[0]["error"]
    assert starts.read_text().splitlines() == ["started", "started"]  # not 2 starts per attempt
