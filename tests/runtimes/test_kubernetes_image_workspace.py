"""Seam 3 for workspaces: the container of a Pod the kubernetes runtime builds, run unchanged in
the real agent image built from this tree (as tests/runtimes/test_kubernetes_image.py does), takes a task's workspace
through the agent protocol and sends the change back: the image has what the server needs (git),
the pod's user can unpack into its temporary directory, and nothing is left there afterwards.
(No Kubernetes API server exists here; the manifest is validated offline elsewhere.)"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from docker_helpers import base_image, engine  # noqa: F401 - fixtures
from gitrepo import git, make_repo

from runner.agents.model import AgentInfo, TaskRequest
from runner.context import EventBus
from runner.protocol.auth import AuthConfig
from runner.protocol.connect import connect
from runner.runtimes.k8s_manifests import pod_manifest
from runner.runtimes.k8s_options import parse_settings
from runner.spec.models import AgentDef

pytestmark = pytest.mark.docker

DOCKER = "/usr/bin/docker"
SOURCE = Path(__file__).resolve().parents[2] / "runner"
EDIT = ("sh", "-c", "printf 'def add(a, b):\\n    return a + b\\n' > calc.py; echo pod > made-in-pod.txt; "
        "ls /tmp > seen-tmp.txt; echo done")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=60, check=check)


def test_a_pods_agent_server_in_the_real_image_takes_a_workspace(tmp_path: Path, base_image: str) -> None:  # noqa: F811
    # agent-base as this source tree builds it (git in it), not whichever tree tagged `latest` last
    image = os.environ.get("RUNNER_K8S_TEST_IMAGE", base_image)
    assert docker("image", "inspect", image, check=False).returncode == 0, (
        f"image {image} is missing: build it with `runner images build` (the docker runtime's setup)")
    info = AgentInfo(id="k1", name="k1", type="command", definition=AgentDef(type="command", command=EDIT))
    prefix, tag = image.rsplit("agent-base", 1)[0], image.rsplit(":", 1)[1]
    pod = pod_manifest(parse_settings({"imagePrefix": prefix, "imageTag": tag}, {}), "r1", info)
    c = pod["spec"]["containers"][0]
    env = []
    for e in c["env"]:
        env += ["-e", f"{e['name']}={e['value'] if 'value' in e else 'tok-ws'}"]  # the Secret holds the token
    uid = pod["spec"]["securityContext"]["runAsUser"]
    installed = docker("run", "--rm", "--entrypoint", "python3", image, "-c",
                       "import os, runner; print(os.path.dirname(runner.__file__))").stdout.strip()
    cid = docker("run", "-d", "--user", f"{uid}:{uid}", "-p", "127.0.0.1::8080", "--label", "runner.managed=true",
                 "-v", f"{SOURCE}:{installed}:ro", "-v", f"{SOURCE.parent / 'schemas'}:{Path(installed).parent / 'schemas'}:ro",
                 *env, "--entrypoint", c["command"][0], image, *c["command"][1:], *c["args"]).stdout.strip()
    handle = None
    try:
        port = docker("port", cid, "8080").stdout.split(":")[-1].strip()
        probe = c["readinessProbe"]["exec"]["command"]
        deadline = time.monotonic() + 30
        while docker("exec", cid, *probe, check=False).returncode != 0:
            assert time.monotonic() < deadline, "readiness probe never passed: " + docker("logs", cid).stdout[-500:]
            time.sleep(0.2)  # the probe's period, shortened
        repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    pass\n", "test_calc.py": "x\n"})
        handle = connect(AgentInfo(id="k1", name="k1", type="command", endpoint=f"http://127.0.0.1:{port}"),
                         EventBus(), AuthConfig(token="tok-ws"))
        handle.start()
        result = handle.execute(TaskRequest(task_id="t1", description="add", timeout=30, workspace=str(repo)))
        assert "done" in result.output and result.patch
        assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
        assert (repo / "made-in-pod.txt").read_text() == "pod\n"
        assert "runner-workspace-" in (repo / "seen-tmp.txt").read_text()  # it worked in its own temp dir
        assert set(git(repo, "status", "--porcelain").split()) >= {"M", "calc.py", "??"}
        left = docker("exec", cid, "sh", "-c", "ls /tmp | grep runner-workspace- || true").stdout.strip()
        assert left == "", left
    finally:
        if handle is not None:
            handle.stop()
        docker("rm", "-f", cid, check=False)
