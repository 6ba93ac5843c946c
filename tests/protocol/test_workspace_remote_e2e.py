"""The issue's "done when" on remote agents (`runner agent serve`, HTTP and gRPC), through the
real CLI: three fixers change files at the same time, each in its own workspace sent to its
server; the verify fails `hasty`, whose retry fixes it from the feedback; the best change lands
as a branch; the user's checkout is byte-for-byte unchanged; nothing is left behind, on either
side. The Kubernetes pod's command (`serve_args` of its manifest) is run here as a real process
and takes a workspace the same way (no API server exists here: the narrowest honest seam)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import fingerprint, git, make_repo
from remote_bestof import STYLES, assert_done_when, best_of_n, fixers, user_repo

pytestmark = pytest.mark.pty


@pytest.mark.slow  # fast lane: the transfer itself: test_workspace_transfer.py
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_best_of_n_done_when_on_remote_agents(tmp_path: Path, protocol: str) -> None:
    repo = user_repo(tmp_path)
    before = fingerprint(repo)
    with fixers(tmp_path) as servers:
        agents = [{"id": f.style, "endpoint": f.urls[protocol], "capabilities": ["code"]} for f in servers]
        pool = tmp_path / "pool.json"
        pool.write_text(json.dumps({"kind": "pool", "name": "remote-fixers", "agents": agents}))
        proc, result = best_of_n(tmp_path, repo, pool)
        assert_done_when(tmp_path, repo, before, proc, result, servers)
    assert {c["agent"] for c in result["steps"][0]["changes"]} == set(STYLES)


def test_the_kubernetes_pods_command_takes_a_workspace(tmp_path: Path) -> None:
    from runner.agents.model import AgentInfo, TaskRequest
    from runner.context import EventBus
    from runner.protocol.connect import connect
    from runner.runtimes.k8s_manifests import SERVE_COMMAND, pod_manifest
    from runner.runtimes.k8s_options import K8sSettings
    from runner.spec.models import AgentDef

    d = AgentDef(type="command", command=("sh", "-c", "echo 'def add(a, b): return a + b' > calc.py; echo added"),
                 capabilities=("code",), runtime="kubernetes")
    info = AgentInfo(id="k1", name="k1", type="command", capabilities=("code",), definition=d)
    pod = pod_manifest(K8sSettings(), "run-1", info)
    container = pod["spec"]["containers"][0]
    args = [a.replace("$$", "$") for a in container["args"]]  # as the kubelet expands them
    # what the pod runs, here: its HTTP address made a free loopback port (the pod listens on 0.0.0.0)
    args = [("127.0.0.1:0" if a.startswith("0.0.0.0:") else a) for a in args]
    assert list(SERVE_COMMAND)[-2:] == ["agent", "serve"]
    server_tmp = tmp_path / "pod-tmp"
    server_tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "runner", "agent", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "TMPDIR": str(server_tmp), "HOME": str(tmp_path),
                                 "RUNNER_AGENT_TOKEN": "pod-token"})
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("listening "), line + proc.stderr.read()  # type: ignore[union-attr]
        url = dict(p.split("=", 1) for p in line.split()[1:])["http"]
        repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b): pass\n"})
        from runner.protocol.auth import AuthConfig

        handle = connect(AgentInfo(id="k1", name="k1", type="command", endpoint=url), EventBus(),
                         AuthConfig(token="pod-token"))
        try:
            handle.start()
            result = handle.execute(TaskRequest(task_id="t", description="add", workspace=str(repo)))
        finally:
            handle.stop()
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert result.patch and (repo / "calc.py").read_text() == "def add(a, b): return a + b\n"
    assert git(repo, "diff", "--stat").strip().startswith("calc.py")
    assert list(server_tmp.iterdir()) == []
