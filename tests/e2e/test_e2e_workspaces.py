"""The issue's "done when", on the local runtime, through the real CLI.

Three `command` agents (examples/best-of-n/agents/fixer.py) really edit files in a real git
repository, each in its own worktree and at the same time (a barrier proves it: no agent goes
on until all three have started). The verify fails `hasty`, whose retry fixes it from the
feedback; the best change lands as a branch; the user's checkout (with uncommitted edits) is
byte-for-byte unchanged and no worktree or runner branch is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from e2e_run import REPO, RUNNER, assert_no_traceback, env, run, write_yaml
from gitrepo import fingerprint, git, leftovers, make_repo, write

from runner.observe.report import validate_result

pytestmark = pytest.mark.pty

FIXER = REPO / "examples/best-of-n/agents/fixer.py"


def _repo(tmp_path: Path) -> Path:
    project = REPO / "examples/best-of-n/project"
    repo = make_repo(tmp_path / "repo", {p.name: p.read_text() for p in project.iterdir() if p.is_file()})
    write(repo, {"calc.py": (repo / "calc.py").read_text() + "# uncommitted: the user's own edit\n",
                 "scratch.txt": "untracked, mine\n"})
    return repo


def _pool(tmp_path: Path, barrier: Path) -> Path:
    barrier.mkdir()
    # Each agent waits (bounded) until all three have started: they run at the same time.
    wait = (f'touch "{barrier}/$RUNNER_AGENT_ID"; i=0; while [ "$(ls "{barrier}" | wc -l)" -lt 3 ]; do '
            'i=$((i+1)); [ $i -gt 2400 ] && echo "not concurrent" && exit 9; sleep 0.05; done; ')
    agents = [{"id": style, "command": ["sh", "-c", f'{wait}exec python3 "{FIXER}" {style}'],
               "capabilities": ["code"]} for style in ("careful", "verbose", "hasty")]
    return write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "fixers", "runtimes": [{"type": "local"}],
                                               "agents": agents})


def test_best_of_n_done_when_on_the_local_runtime(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before = fingerprint(repo)
    state = tmp_path / "state"
    proc = run(["apply", "builtin:best-of-n", "--pool", str(_pool(tmp_path, tmp_path / "barrier")),
                "--input", f"repo={repo}", "--input", "verify=python3 test_calc.py", "--input", "branch=best",
                "--input", "task=Implement add() in calc.py so that test_calc.py passes.",
                "--state-dir", str(state), "-o", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")],
               tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    result = json.loads((tmp_path / "r.json").read_text())
    assert validate_result(result) == []
    step = result["steps"][0]
    attempts = [(a["agentId"], a["attempt"], a["status"], a["errorKind"]) for a in step["attempts"]]
    assert ("hasty", 1, "failed", "verify") in attempts and ("hasty", 2, "ok", None) in attempts
    hasty1 = next(a for a in step["attempts"] if a["agentId"] == "hasty" and a["attempt"] == 1)
    assert hasty1["change"]["verify"]["ok"] is False and "returned -1" in hasty1["change"]["verify"]["output"]
    # each agent worked in a workspace of its own
    assert len({c["workspace"] for c in step["changes"]}) == 3
    assert all(c["verify"]["ok"] for c in step["changes"])
    # best-change: all verified, same confidence, fewest lines (careful and hasty: 2), then agent id
    assert step["change"]["agent"] == "careful" and step["landed"]["branch"] == "best"
    assert result["outputs"] == {"agent": "careful", "branch": "best", "files": "calc.py"}
    # the branch: one commit on HEAD with the change; the checkout untouched; nothing left behind
    assert git(repo, "rev-list", "--count", "main..best").strip() == "1"
    assert git(repo, "show", "best:calc.py").count("return a + b") == 1
    assert "uncommitted" not in git(repo, "show", "best:calc.py")
    assert fingerprint(repo) == before
    assert leftovers(repo) == ([], [])
    assert not any((state / "runs").glob("*/workspaces/*/*"))
    patches = sorted(p.name for p in (state / "runs").glob("*/changes/implement/*.patch"))
    assert patches == ["careful-1.patch", "hasty-1.patch", "hasty-2.patch", "verbose-1.patch"]
    junit = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/system-out")
    assert junit is not None and "landed as branch best" in (junit.text or "")
    assert "chosen careful#1" in proc.stdout


def test_land_apply_refuses_a_dirty_tree_and_changes_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before = fingerprint(repo)
    pattern = write_yaml(tmp_path / "p.yaml", {"kind": "pattern", "name": "apply", "steps": [{
        "id": "fix", "agents": {"capabilities": ["code"]}, "task": "fix it",
        "workspace": {"from": str(repo)}, "land": "apply"}]})
    pool = write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "one", "runtimes": [{"type": "local"}],
                                               "agents": [{"id": "careful", "capabilities": ["code"],
                                                           "command": ["python3", str(FIXER), "careful"]}]})
    proc = run(["apply", str(pattern), "--pool", str(pool), "--state-dir", str(tmp_path / "state")], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "apply refused" in proc.stderr and "--force" in proc.stderr
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])


def test_kill_9_then_gc_leaves_no_worktree_and_no_runner_branch(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    state = tmp_path / "state"
    pattern = write_yaml(tmp_path / "p.yaml", {"kind": "pattern", "name": "stuck", "steps": [{
        "id": "work", "agents": {"capabilities": ["code"], "min": 2}, "task": "x",
        "workspace": {"from": str(repo)}}]})
    pool = write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "sleepers", "runtimes": [{"type": "local"}],
                                               "agents": [{"id": f"s{i}", "capabilities": ["code"],
                                                           "command": ["sh", "-c", "touch started-here; sleep 60"]}
                                                          for i in (1, 2)]})
    proc = subprocess.Popen([RUNNER, "apply", str(pattern), "--pool", str(pool), "--state-dir", str(state), "-q"],
                            cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list((state / "runs").glob("*/workspaces/work/*/started-here"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the agents never started"
            time.sleep(0.05)
        assert len(leftovers(repo)[0]) == 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    gc = run(["gc", "--state-dir", str(state)], tmp_path)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert gc.stdout.count("\tremoved") >= 2 and "workspace\t" in gc.stdout
    assert leftovers(repo) == ([], [])
    assert not any((state / "runs").glob("*/workspaces/work/*"))
