"""`runner apply` with a pool whose agents run in docker: a container killed from outside is
retried per the step's policy; SIGTERM to `runner apply` leaves no container of the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docker_helpers import CLIENT, base_image, docker, engine, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.docker

# First attempt: leaves a mark in the (writable) workdir and hangs; later attempts answer.
AGENT = textwrap.dedent("""
    import pathlib, time
    mark = pathlib.Path('/work/attempted')
    if mark.exists():
        print('answered on a later attempt')
    else:
        mark.write_text('1')
        time.sleep(120)
""")


def write_files(tmp_path: Path, image: str) -> tuple[Path, Path, Path]:
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    pattern = tmp_path / "pattern.yaml"
    pattern.write_text(textwrap.dedent("""
        kind: pattern
        name: docker-retry
        version: "1.0.0"
        description: one step on a docker agent that crashes once
        steps:
          - id: work
            agents: {capabilities: [flaky]}
            task: go
            retry: {limit: 2, backoff: {initial: 100ms}, on: [crash, infrastructure]}
            timeout: 90s
        outputs:
          answer: "{{ steps.work.output }}"
    """))
    pool = tmp_path / "pool.yaml"
    pool.write_text(json.dumps({
        "kind": "pool", "name": "docker-pool",
        "runtimes": [{"type": "docker", "options": {"image": image, "stop_timeout": 2}}],
        "agents": [{"id": "flaky", "command": ["python3", "-c", AGENT], "capabilities": ["flaky"],
                    "workdir": str(work), "options": {"writable": True}}],
    }))
    return pattern, pool, work


def apply(tmp_path: Path, pattern: Path, pool: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT)
    return subprocess.Popen([sys.executable, "-m", "runner", "apply", str(pattern), "--pool", str(pool),
                             "-o", str(tmp_path / "out.json"), "--state-dir", str(tmp_path / ".runner")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def containers_of(pid: int) -> list[str]:
    return docker("ps", "-a", "--filter", f"label=runner.pid={pid}", "--format", "{{.Names}}").split()


def test_container_killed_from_outside_is_retried(tmp_path, base_image):
    pattern, pool, work = write_files(tmp_path, base_image)
    proc = apply(tmp_path, pattern, pool)
    try:
        wait_for(lambda: (work / "attempted").exists(), 60, "the first attempt to start")
        (name,) = containers_of(proc.pid)
        docker("kill", name)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, err
    result = json.loads((tmp_path / "out.json").read_text())
    assert "answered on a later attempt" in json.dumps(result)
    assert containers_of(proc.pid) == []


def test_sigterm_to_apply_leaves_no_container(tmp_path, base_image):
    pattern, pool, work = write_files(tmp_path, base_image)
    proc = apply(tmp_path, pattern, pool)
    try:
        wait_for(lambda: (work / "attempted").exists(), 60, "the agent to start")
        assert len(containers_of(proc.pid)) == 1
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 143, err
    assert containers_of(proc.pid) == []
