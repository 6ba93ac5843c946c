"""Seam 3: the container of a Pod the kubernetes runtime builds, run in the real agent image.

The Pod's image, command, args, env (Secret values filled in as the kubelet would), user
(``runAsUser``) and exec readiness probe are taken from ``pod_manifest`` unchanged and run with the
real Docker engine in the docker runtime's ``agent-base`` image (``runner images build``, built by
the docker part's CI setup; ``RUNNER_K8S_TEST_IMAGE`` names another). The image's installed
``runner`` package is replaced (bind mount, read-only) by this checkout's, so that this source's
``runner agent serve`` is what runs, with the image's Python, user and layout, even when the
image was built from an older tree. The probe must pass and a task must go through the agent
server with the token from the "Secret" and reach the program with its credential.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from runner.agents.model import AgentInfo
from runner.runtimes.k8s_manifests import pod_manifest
from runner.runtimes.k8s_options import parse_settings
from runner.spec.models import AgentDef

pytestmark = pytest.mark.docker

DOCKER = "/usr/bin/docker"
SOURCE = Path(__file__).resolve().parents[2] / "runner"
PROGRAM = ("python3", "-c", "import json,os,sys; t=sys.stdin.read().strip(); "
           "print(json.dumps({'result': 'echo: '+t+' '+os.environ['API_KEY'], 'confidence': 0.9}))")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=60, check=check)


def test_pod_container_runs_in_the_agent_image():
    image = os.environ.get("RUNNER_K8S_TEST_IMAGE", "runner/agent-base:latest")
    assert docker("image", "inspect", image, check=False).returncode == 0, (
        f"image {image} is missing: build it with `runner images build` (the docker runtime's setup)")
    info = AgentInfo(id="a1", name="a1", type="command",
                     definition=AgentDef(type="command", command=PROGRAM, credentials={"API_KEY": "MY_KEY"}))
    pod = pod_manifest(parse_settings({"imagePrefix": image.split("agent-base")[0],
                                       "imageTag": image.rsplit(":", 1)[1]}, {}), "r1", info)
    c = pod["spec"]["containers"][0]
    assert c["image"] == image
    secret = {"RUNNER_AGENT_TOKEN": "tok-123", "API_KEY": "key-456"}
    env = []
    for e in c["env"]:
        value = e["value"] if "value" in e else secret[e["valueFrom"]["secretKeyRef"]["key"]]
        env += ["-e", f"{e['name']}={value}"]
    uid = pod["spec"]["securityContext"]["runAsUser"]
    installed = docker("run", "--rm", "--entrypoint", "python3", image, "-c",
                       "import os, runner; print(os.path.dirname(runner.__file__))").stdout.strip()
    # this checkout's runner/ over the installed one; its schemas/ beside it, where a checkout has
    # them (the mount hides the wheel's runner/_data; `agent serve` checks the definition by them)
    cid = docker("run", "-d", "--user", f"{uid}:{uid}", "-p", "127.0.0.1::8080", "--label", "runner.managed=true",
                 "-v", f"{SOURCE}:{installed}:ro", "-v", f"{SOURCE.parent / 'schemas'}:{Path(installed).parent / 'schemas'}:ro",
                 *env, "--entrypoint", c["command"][0], image, *c["command"][1:], *c["args"]).stdout.strip()
    try:
        port = docker("port", cid, "8080").stdout.split(":")[-1].strip()
        probe = c["readinessProbe"]["exec"]["command"]
        deadline = time.monotonic() + 30
        while docker("exec", cid, *probe, check=False).returncode != 0:
            assert time.monotonic() < deadline, "readiness probe never passed: " + docker("logs", cid).stdout[-500:]
            time.sleep(0.2)  # the probe's period, shortened
        body = json.dumps({"taskId": "t1", "description": "hi", "data": {}, "timeout": 20}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/execute", data=body, method="POST", headers={
            "Authorization": "Bearer tok-123", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as answer:
            reply = json.loads(answer.read())
        assert reply["result"] == "echo: hi key-456"
        assert docker("exec", cid, "id", "-u").stdout.strip() == str(uid)
        wrong = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Authorization": "Bearer no"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong, timeout=5)
        refused.value.close()
        assert refused.value.code == 401
    finally:
        docker("rm", "-f", cid, check=False)
