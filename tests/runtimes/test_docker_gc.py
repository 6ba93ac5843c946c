"""`runner gc` removes what a SIGKILLed runner left, and nothing of a live one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docker_helpers import (  # noqa: F401 - fixtures
    CLIENT,
    agent,
    base_image,
    dctx,
    docker_rt,
    engine,
    inspect,
    run_containers,
    wait_for,
)

pytestmark = pytest.mark.docker

ORPHAN_MAKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from runner.agents.model import AgentInfo
    from runner.context import RunContext
    from runner.runtimes.docker import DockerRuntime
    from runner.spec.models import AgentDef
    ctx = RunContext(workdir=Path(sys.argv[1]))
    rt = DockerRuntime(ctx, {"image": sys.argv[2]})
    d = AgentDef(type="command", command=("cat",))
    h = rt.spawn(AgentInfo(id="orphan", name="orphan", type="command", definition=d))
    h.start()
    print(ctx.run_id, h.container_name, flush=True)
    time.sleep(600)
""")


def gc(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT)
    return subprocess.run([sys.executable, "-m", "runner", "gc", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_gc_removes_the_orphan_of_a_sigkilled_runner(docker_rt, dctx, base_image):
    live = agent(docker_rt, "live", "print('x')")
    live.start()
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN_MAKER, str(dctx.workdir), base_image],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        run_id, name = proc.stdout.readline().split()
        assert inspect(name)["State"]["Running"]
        assert inspect(name)["Config"]["Labels"]["runner.pid"] == str(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert run_containers(run_id) == [name]  # SIGKILL left it behind

    listed = gc("--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert f"container\t{name}\trun {run_id}\twould remove" in listed.stdout
    assert live.container_name not in listed.stdout  # its owner (this process) is alive

    done = gc("--run", run_id)
    assert done.returncode == 0, done.stderr
    assert f"container\t{name}\trun {run_id}\tremoved" in done.stdout
    assert run_containers(run_id) == []
    assert inspect(live.container_name)["State"]["Running"]
    assert gc("--run", run_id).stdout.strip() == "nothing to remove"
