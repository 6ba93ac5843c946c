"""The issue's "done when" on the Docker runtime, through the real CLI and a real engine.

Three `command` agents (examples/best-of-n/agents/fixer.py), each in a container of its own,
really edit files in a real git repository, each in its own worktree and at the same time (a
barrier in their shared, writable workdir proves it: no agent goes on until all three have
started). The verify (in a container of the agent's image) fails `hasty`, whose retry fixes it
from the feedback; the best change lands as a branch; the user's checkout (with uncommitted
edits) is byte-for-byte unchanged; no container, worktree or runner branch is left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker_helpers import CLIENT, base_image, docker, engine  # noqa: F401 - fixtures
from gitrepo import fingerprint, git, leftovers, make_repo, write

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/best-of-n"


def test_best_of_n_done_when_on_the_docker_runtime(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    project = EXAMPLE / "project"
    repo = make_repo(tmp_path / "repo", {p.name: p.read_text() for p in project.iterdir() if p.is_file()})
    write(repo, {"calc.py": (repo / "calc.py").read_text() + "# uncommitted: the user's own edit\n",
                 "scratch.txt": "untracked, mine\n"})
    before = fingerprint(repo)
    shared = tmp_path / "shared"  # every agent's workdir (/work in its container): the fixer and the barrier
    (shared / "barrier").mkdir(parents=True)
    shutil.copy(EXAMPLE / "agents/fixer.py", shared / "fixer.py")
    for p in (shared, shared / "barrier"):
        p.chmod(0o777)  # the containers' user (uid 10001) writes the barrier
    wait = ('touch "/work/barrier/$RUNNER_AGENT_ID"; i=0; while [ "$(ls /work/barrier | wc -l)" -lt 3 ]; do '
            'i=$((i+1)); [ $i -gt 1200 ] && echo "not concurrent" && exit 9; sleep 0.05; done; ')
    agents = [{"id": style, "command": ["sh", "-c", f"{wait}exec python3 /work/fixer.py {style}"],
               "capabilities": ["code"], "workdir": str(shared), "options": {"writable": True}}
              for style in ("careful", "verbose", "hasty")]
    pool = tmp_path / "pool.yaml"
    pool.write_text(json.dumps({"kind": "pool", "name": "docker-fixers", "agents": agents,
                                "runtimes": [{"type": "docker", "options": {"image": base_image, "stop_timeout": 2}}]}))
    state = tmp_path / "state"
    # the verify shows where it ran: in the agent's image (/opt/runner), as the invoking user
    verify = f"test -x /opt/runner/bin/python && test \"$(id -u)\" = {os.getuid()} && python3 test_calc.py"
    proc = subprocess.run([sys.executable, "-m", "runner", "apply", "builtin:best-of-n", "--pool", str(pool),
                           "--input", f"repo={repo}", "--input", f"verify={verify}", "--input", "branch=best",
                           "--input", "task=Implement add() in calc.py so that test_calc.py passes.",
                           "--state-dir", str(state), "-o", str(tmp_path / "r.json")],
                          cwd=tmp_path, env=dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT),
                          capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    step = result["steps"][0]
    attempts = [(a["agentId"], a["attempt"], a["status"], a["errorKind"]) for a in step["attempts"]]
    assert ("hasty", 1, "failed", "verify") in attempts and ("hasty", 2, "ok", None) in attempts
    hasty1 = next(a for a in step["attempts"] if a["agentId"] == "hasty" and a["attempt"] == 1)
    assert hasty1["change"]["verify"]["ok"] is False and "returned -1" in hasty1["change"]["verify"]["output"]
    hasty2 = next(a for a in step["attempts"] if a["agentId"] == "hasty" and a["attempt"] == 2)
    assert "after the feedback" in hasty2["result"]  # the retry's task carried the verify output
    assert len({c["workspace"] for c in step["changes"]}) == 3  # a worktree each
    assert all(c["verify"]["ok"] for c in step["changes"])
    assert step["change"]["agent"] == "careful" and step["landed"]["branch"] == "best"
    assert git(repo, "rev-list", "--count", "main..best").strip() == "1"
    assert git(repo, "show", "best:calc.py").count("return a + b") == 1
    assert "uncommitted" not in git(repo, "show", "best:calc.py")
    assert fingerprint(repo) == before
    assert leftovers(repo) == ([], [])
    assert not any((state / "runs").glob("*/workspaces/*/*"))
    assert docker("ps", "-a", "--filter", f"label=runner.run-id={result['runId']}", "--format", "{{.Names}}").split() == []
