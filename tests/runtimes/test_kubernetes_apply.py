"""``runner plan`` and ``runner apply`` with a pool whose only runtime is kubernetes (emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from k8s_helpers import NAMESPACE, Emulator, Kubelet

HELPERS = Path(__file__).resolve().parents[1] / "helpers" / "programs"

PATTERN = """\
kind: pattern
name: two-pods
steps:
  - id: ask
    agents: {capabilities: [python], min: 2}
    task: "hello"
    aggregation: {type: voting, method: majority}
outputs:
  answer: "{{ steps.ask.output }}"
"""


@pytest.fixture
def files(tmp_path: Path):
    with Emulator(tmp_path) as emu, Kubelet(emu, tmp_path) as kubelet:
        (tmp_path / "pattern.yaml").write_text(PATTERN)
        (tmp_path / "pool.yaml").write_text(f"""\
kind: pool
name: cluster
runtimes:
  - type: kubernetes
    namespace: {NAMESPACE}
    kubeconfig: {emu.kubeconfig}
    access: pod-ip
    imagePrefix: registry.example.com/runner/
    startTimeout: 30
    gracePeriod: 2
templates:
  - name: answer
    type: command
    command: ["{sys.executable}", "{HELPERS / 'answer_json.py'}"]
    capabilities: [python]
    credentials:
      API_KEY: {{env: MY_KEY}}
    maxInstances: 4
""")
        yield tmp_path, emu, kubelet
        assert not kubelet.errors, kubelet.errors


SECRET = "k8s-s3cret-value"


def runner(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MY_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=90, env=env)


def test_plan_shows_the_pods_it_would_create(files):
    folder, emu, _ = files
    out = runner(folder, "plan", "pattern.yaml", "--pool", "pool.yaml")
    assert out.returncode == 0, out.stderr
    for agent in ("answer-1", "answer-2"):
        assert (f"{agent} on kubernetes (pod runner-<run>-{agent} in namespace {NAMESPACE}, "
                "image registry.example.com/runner/agent-base:latest, pod-ip)") in out.stdout
    as_json = json.loads(runner(folder, "plan", "pattern.yaml", "--pool", "pool.yaml", "--format", "json").stdout)
    assert as_json["selections"]["ask"]["spawn"][0]["creates"].startswith("pod runner-<run>-answer-1 ")
    assert emu.names("Pod") == []  # plan starts nothing


def test_apply_completes_and_leaves_no_pod_or_secret(files):
    folder, emu, kubelet = files
    out = runner(folder, "apply", "pattern.yaml", "--pool", "pool.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(kubelet.seen) == 2  # two pods were created and ran
    assert emu.names("Pod") == [] and emu.names("Secret") == []
    (run,) = (folder / ".runner" / "runs").iterdir()
    result = json.loads((run / "result.json").read_text())
    assert result["outputs"]["answer"] == "echo: hello"
    assert all(env["API_KEY"] == SECRET for env in kubelet.envs.values())  # reached the pods...
    for f in run.rglob("*"):  # ...and no file of the run journal holds it
        assert not f.is_file() or SECRET not in f.read_text(errors="replace"), f
    assert SECRET not in out.stdout + out.stderr
