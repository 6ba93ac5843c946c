"""A docker agent's verify runs in a container of the agent's image (real engine): the checkout at
the same path as on the host, the invoking user's uid (so it owns what the verify writes), the
run's labels on the container, and no container left afterwards, also after a timeout or a stop."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from docker_helpers import base_image, dctx, docker, docker_rt, engine, wait_for  # noqa: F401 - fixtures

from runner.agents.model import AgentInfo
from runner.runtimes.docker import DockerRuntime
from runner.spec.models import AgentDef
from runner.workspace.verify import run_verify

pytestmark = pytest.mark.docker


def _info() -> AgentInfo:
    d = AgentDef(type="command", command=("true",))
    return AgentInfo(id="coder", name="coder", type="command", definition=d)


def _verify_containers(rt: DockerRuntime) -> list[str]:
    out = docker("ps", "-a", "--filter", f"label=runner.run-id={rt.ctx.run_id}",
                 "--filter", "label=runner.role=verify", "--format", "{{.Names}}")
    return out.split()


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "runs" / "r1" / "workspaces" / "fix" / "coder-1"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "calc.py").write_text("x = 1\n")
    return root, root / "pkg"


def test_verify_runs_in_the_agents_image_at_the_same_path_as_the_invoking_user(
        tmp_path: Path, docker_rt: DockerRuntime) -> None:  # noqa: F811
    root, cwd = _checkout(tmp_path)
    sandbox = docker_rt.verify_sandbox(_info())
    assert sandbox is not None
    command = ('test -x /opt/runner/bin/python && echo in-image; echo "pwd=$PWD ws=$RUNNER_WORKSPACE '
               'uid=$(id -u) x=$X"; mkdir -p build/out && echo made > build/out/made.txt && cat calc.py')
    v = run_verify(command, cwd, timeout=60, env={"X": "from-verify-env"}, sandbox=sandbox(root))
    assert v.ok, v.output
    assert not Path("/opt/runner/bin/python").exists()  # the host has no such thing: it ran in the image
    assert "in-image" in v.output
    assert f"pwd={cwd} ws={cwd} uid={os.getuid()} x=from-verify-env" in v.output
    assert "x = 1" in v.output
    for made in (cwd / "build", cwd / "build/out", cwd / "build/out/made.txt"):
        assert made.stat().st_uid == os.getuid() and made.stat().st_gid == os.getgid()
    assert _verify_containers(docker_rt) == []


def test_a_failed_verify_says_why_and_leaves_no_container(tmp_path: Path, docker_rt: DockerRuntime) -> None:  # noqa: F811
    root, cwd = _checkout(tmp_path)
    v = run_verify("echo broken >&2; exit 3", cwd, timeout=60, env={}, sandbox=docker_rt.verify_sandbox(_info())(root))
    assert not v.ok and v.exit_code == 3 and "broken" in v.output
    assert _verify_containers(docker_rt) == []


def test_a_timeout_removes_the_container(tmp_path: Path, docker_rt: DockerRuntime) -> None:  # noqa: F811
    root, cwd = _checkout(tmp_path)
    v = run_verify("sleep 60", cwd, timeout=3, env={}, sandbox=docker_rt.verify_sandbox(_info())(root))
    assert not v.ok and v.timed_out
    assert _verify_containers(docker_rt) == []


def test_a_stopping_run_stops_the_verify_container_labelled_with_the_run(
        tmp_path: Path, docker_rt: DockerRuntime) -> None:  # noqa: F811
    root, cwd = _checkout(tmp_path)
    stop = threading.Event()
    seen: list[str] = []

    def stop_once_running() -> None:
        seen.extend(wait_for(lambda: _verify_containers(docker_rt), 60, "the verify container"))
        stop.set()

    watcher = threading.Thread(target=stop_once_running, daemon=True)
    watcher.start()
    v = run_verify("sleep 100", cwd, timeout=None, env={}, stopping=stop,
                   sandbox=docker_rt.verify_sandbox(_info())(root))
    watcher.join(10)
    assert not v.ok and v.exit_code is None
    assert len(seen) == 1 and "-coder-verify-" in seen[0]  # it carried the run's labels
    assert _verify_containers(docker_rt) == []


VERIFY_ORPHAN = """
import sys
from pathlib import Path
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.runtimes.docker import DockerRuntime
from runner.spec.models import AgentDef
from runner.workspace.verify import run_verify
root = Path(sys.argv[1])
ctx = RunContext(workdir=root)
rt = DockerRuntime(ctx, {"image": sys.argv[2]})
info = AgentInfo(id="coder", name="coder", type="command", definition=AgentDef(type="command", command=("true",)))
print(ctx.run_id, flush=True)
run_verify("sleep 600", root, timeout=None, env={}, sandbox=rt.verify_sandbox(info)(root))
"""


def test_gc_removes_the_verify_container_of_a_killed_run(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    import signal
    import subprocess
    import sys

    from docker_helpers import CLIENT

    root, _ = _checkout(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", VERIFY_ORPHAN, str(root), base_image], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT))
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        names = wait_for(lambda: docker("ps", "-q", "--filter", f"label=runner.run-id={run_id}",
                                        "--filter", "label=runner.role=verify").split(), 60, "the verify container")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    assert len(names) == 1  # the kill left it running
    done = subprocess.run([sys.executable, "-m", "runner", "gc", "--run", run_id], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT))
    assert done.returncode == 0, done.stderr
    assert "-coder-verify-" in done.stdout and "\tremoved" in done.stdout
    assert docker("ps", "-aq", "--filter", f"label=runner.run-id={run_id}").split() == []
