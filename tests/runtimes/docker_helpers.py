"""Fixtures and helpers for the docker runtime tests (real engine, real images).

A missing engine fails these tests (never skips them) with the set-up script's name.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.docker.client import client_path, engine_problem
from runner.runtimes.docker import DockerRuntime
from runner.spec.models import AgentDef, Resources
from tests.helpers.polling import poll as wait_for  # noqa: F401 - the tests import it from here

CLIENT = client_path()
SECRET = "s3cret-docker-value"


def docker(*args: str, check: bool = True) -> str:
    """Run the docker client; its stdout."""
    proc = subprocess.run([CLIENT, *args], capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def inspect(name_or_id: str) -> dict[str, Any]:
    return json.loads(docker("inspect", name_or_id))[0]


def run_containers(run_id: str) -> list[str]:
    """Names of every container (running or not) labelled with ``run_id``."""
    out = docker("ps", "-a", "--filter", f"label=runner.run-id={run_id}", "--format", "{{.Names}}")
    return out.split()


@pytest.fixture(scope="session")
def engine() -> str:
    problem = engine_problem(CLIENT)
    if problem:
        pytest.fail(f"the docker tests need a running Docker engine: {problem}", pytrace=False)
    return CLIENT


@pytest.fixture(scope="session")
def base_image(engine: str) -> str:
    """agent-base for this source tree (built once, then a cache hit of ~0.1 s)."""
    from runner.images.build import build_images

    built = build_images(["agent-base"], client=engine)
    return built[-1].tag


@pytest.fixture
def dctx(tmp_path: Path) -> RunContext:
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)  # the container's user (uid 10001) must read it (and write, when writable)
    (work / "hello.txt").write_text("hi from the host\n")
    environ = dict(os.environ, RUNNER_TEST_DOCKER_SECRET=SECRET)
    return RunContext(workdir=work, state_dir=tmp_path / ".runner", environ=environ)


@pytest.fixture
def devents(dctx: RunContext) -> list:
    seen: list = []
    dctx.bus.subscribe(seen.append)
    return seen


@pytest.fixture
def docker_rt(dctx: RunContext, base_image: str):  # type: ignore[no-untyped-def]
    """A docker runtime on agent-base; afterwards cleanup() must leave no container of the run."""
    rt = DockerRuntime(dctx, {"image": base_image, "stop_timeout": 2})
    yield rt
    left = rt.cleanup()
    assert left == []
    assert run_containers(dctx.run_id) == []


def agent(rt: DockerRuntime, agent_id: str, script: str, **kw: Any) -> Any:
    """A per-task ``command`` agent running ``python3 -c script`` in a container."""
    resources = kw.pop("resources", Resources())
    definition = AgentDef(type="command", command=("python3", "-c", script), resources=resources, **kw)
    return rt.spawn(AgentInfo(id=agent_id, name=agent_id, type="command", definition=definition))
