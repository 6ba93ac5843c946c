"""A workspace step with a docker `command` agent, through the real CLI: the agent (the
container's non-root user) edits files in its checkout, mounted at /workspace; the change is
captured and lands as a branch; the invoking user owns every file afterwards (the verify, in a
container of the agent's image, checks it); the user's checkout is untouched and no container,
worktree or branch is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docker_helpers import CLIENT, base_image, docker, engine  # noqa: F401 - fixtures
from gitrepo import fingerprint, git, leftovers, make_repo, write

pytestmark = pytest.mark.docker

# Runs in the container, in the attempt's checkout (the repository's `pkg` subdirectory).
AGENT = textwrap.dedent("""
    import os, pathlib
    here = os.getcwd()
    assert here.startswith('/workspace/') and here.endswith('/pkg'), here
    assert os.environ['RUNNER_WORKSPACE'] == here
    calc = pathlib.Path('calc.py')
    calc.write_text(calc.read_text().replace('return None', 'return a + b'))
    pathlib.Path('made/by').mkdir(parents=True)
    pathlib.Path('made/by/agent.txt').write_text('new\\n')
    print(f'uid={os.getuid()} cwd={here}')
""")


def test_docker_agent_edits_its_workspace(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    repo = make_repo(tmp_path / "repo", {"pkg/calc.py": "def add(a, b):\n    return None\n", "README": "r\n"})
    write(repo, {"README": "r\nthe user's uncommitted edit\n"})
    before = fingerprint(repo)
    uid = os.getuid()
    owned = f'for f in calc.py made made/by made/by/agent.txt; do test "$(stat -c %u $f)" = {uid} || exit 1; done'
    pattern = tmp_path / "pattern.yaml"
    pattern.write_text(json.dumps({
        "kind": "pattern", "name": "docker-workspace",
        "steps": [{"id": "fix", "agents": {"capabilities": ["code"]},
                   "workspace": {"from": str(repo / "pkg"), "requireChange": True},
                   "task": "make add() add", "timeout": "60s",
                   "verify": {"run": f"test -x /opt/runner/bin/python && grep -q 'return a + b' calc.py && {owned}"},
                   "land": {"to": "branch", "branch": "from-docker"}}],
        "outputs": {"said": "{{ steps.fix.output }}"},
    }))
    pool = tmp_path / "pool.yaml"
    pool.write_text(json.dumps({
        "kind": "pool", "name": "docker-pool",
        "runtimes": [{"type": "docker", "options": {"image": base_image, "stop_timeout": 2}}],
        "agents": [{"id": "coder", "command": ["python3", "-c", AGENT], "capabilities": ["code"]}],
    }))
    state = tmp_path / "state"
    proc = subprocess.run([sys.executable, "-m", "runner", "apply", str(pattern), "--pool", str(pool),
                           "-o", str(tmp_path / "out.json"), "--state-dir", str(state)],
                          cwd=tmp_path, env=dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT),
                          capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    step = result["steps"][0]
    assert "uid=10001 cwd=/workspace/fix/coder-1/pkg" in result["outputs"]["said"]  # the non-root user
    change = step["change"]
    assert change["verify"]["ok"] is True  # every file the container made is the invoking user's
    assert {(f["path"], f["status"]) for f in change["files"]} == {
        ("pkg/calc.py", "modified"), ("pkg/made/by/agent.txt", "added")}
    assert git(repo, "show", "from-docker:pkg/calc.py").count("return a + b") == 1
    assert "uncommitted" not in git(repo, "show", "from-docker:README")
    assert fingerprint(repo) == before
    assert leftovers(repo) == ([], [])
    assert not any((state / "runs").glob("*/workspaces/*/*"))
    run_id = result["runId"]
    assert docker("ps", "-a", "--filter", f"label=runner.run-id={run_id}", "--format", "{{.Names}}").split() == []
