"""What `runner apply` shows while it runs: a live table on a terminal (a real PTY), plain lines
without one (no control codes), only the summary with --quiet, agent states only with -v; and
`make demo` stays short before its summary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from e2e_run import REPO, RUNNER, env, run, write_voters, write_yaml

pytestmark = pytest.mark.pty
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def vote_files(tmp_path: Path) -> list[str]:
    write_voters(tmp_path)
    write_yaml(tmp_path / "p.yaml", {"name": "vote", "steps": [
        {"id": "decide", "agents": {"capabilities": ["vote"], "min": 3}, "task": "ship it?",
         "aggregation": {"type": "voting", "method": "majority"}},
        {"id": "after", "agents": {"capabilities": ["vote"]}, "task": "and then?", "needs": ["decide"]}]})
    return ["apply", "p.yaml", "--pool", "pool.yaml"]


def test_without_a_terminal_one_plain_line_per_step_change(tmp_path):
    proc = run(vote_files(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in proc.stderr.splitlines()]
    assert [re.sub(r" in \d+\.\ds", "", line) for line in lines] == [
        "step decide: running (3 agents)",
        "step decide: succeeded (confidence 0.85): majority: 2 of 3 votes for 'yes'",
        "step after: running (1 agent)",
        "step after: succeeded (confidence 0.90)",
    ]
    assert not CONTROL.search(proc.stderr.replace("\n", ""))
    assert proc.stdout.startswith("run ") and "step decide: succeeded" in proc.stdout


def test_verbose_adds_agent_states_and_quiet_leaves_only_the_summary(tmp_path):
    args = vote_files(tmp_path)
    verbose = run([*args, "-v"], tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert re.search(r"\] agent a: ready$", verbose.stderr, re.M)
    assert re.search(r"\] step decide: attempt 1 on b: ok in \d+\.\ds$", verbose.stderr, re.M)
    for mark in (tmp_path / "marks").iterdir():
        mark.unlink()
    quiet = run([*args, "--quiet"], tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.startswith("run ") and "step decide: succeeded" in quiet.stdout  # the summary, all of it


def test_on_a_terminal_a_live_table_of_steps_then_the_summary(tmp_path):
    child = pexpect.spawn(RUNNER, vote_files(tmp_path), cwd=str(tmp_path), env=env(COLUMNS="100", TERM="xterm"),
                          encoding="utf-8", timeout=60, dimensions=(40, 100))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    screen = child.before
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert "\x1b[" in screen  # drawn in place, with cursor movement and colour
    assert re.search(r"step\s+state\s+agents\s+attempt\s+elapsed\s+cost", plain)
    assert re.search(r"decide\s+succeeded\s+0 busy · 3 done\s+1\s+\d+\.\ds", plain)
    assert re.search(r"after\s+succeeded\s+0 busy · 1 done\s+1\s+\d+\.\ds", plain)
    assert "agent a:" not in plain  # agent state changes only with -v
    summary = re.search(r"run \d{8}-\d{6}-\w+: succeeded", plain)
    assert summary and summary.start() > plain.rindex("0 busy · 1 done")  # the summary comes last


def test_make_demo_prints_at_most_15_lines_before_its_summary():
    venv = Path(sys.executable).parent.parent
    proc = subprocess.run(["make", "-s", "demo", f"VENV={venv}"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env())
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stderr + proc.stdout).splitlines()
    before = proc.stderr.splitlines()  # progress is on stderr, the summary on stdout
    assert len(before) <= 15, before
    assert proc.stdout.startswith("run ") and len(lines) > len(before)
    assert json.loads((REPO / ".runner" / "demo-result.json").read_text())["status"] == "succeeded"
