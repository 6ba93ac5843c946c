"""The same scenario against a real cluster: spawn a pod, execute a task through it, stop it,
clean up by label, and check that no Pod or Secret of the run is left.

Nothing on the build machines can run a real Kubernetes API server (no package ships one; kind,
k3s and minikube need image pulls), so without ``KUBECONFIG`` this suite is collected and
reported as NOT RUN with an explicit reason: it is the one allowed skip. To run it::

    KUBECONFIG=~/.kube/config RUNNER_K8S_IMAGE_PREFIX=registry.example.com/runner/ \\
        pytest -m kubernetes_real tests/runtimes/test_kubernetes_real.py -v

Needs: the namespace and RBAC of ``deploy/kubernetes/`` applied (``RUNNER_K8S_NAMESPACE``,
default ``runner``), the agent-base image pullable as ``<prefix>agent-base:<tag>``
(``RUNNER_K8S_IMAGE_TAG``, default ``latest``); ``RUNNER_K8S_ACCESS`` ``pod-ip`` when the tests
run inside the cluster, else ``port-forward`` (default).
"""

from __future__ import annotations

import os

import pytest

from runner.agents.lifecycle import AgentState as S
from runner.agents.model import AgentInfo, TaskRequest
from runner.context import RunContext
from runner.spec.models import AgentDef

pytestmark = pytest.mark.kubernetes_real

PROGRAM = ("python3", "-c", "import json,sys; t=sys.stdin.read().strip(); "
           "print(json.dumps({'result': 'echo: ' + t, 'confidence': 0.9}))")


@pytest.fixture
def cluster_options() -> dict:
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("no KUBECONFIG: real-cluster suite not run (no Kubernetes API server can run here; "
                    "see the module docstring for the command)")
    return {"namespace": os.environ.get("RUNNER_K8S_NAMESPACE", "runner"),
            "kubeconfig": os.environ["KUBECONFIG"],
            "imagePrefix": os.environ.get("RUNNER_K8S_IMAGE_PREFIX", "runner/"),
            "imageTag": os.environ.get("RUNNER_K8S_IMAGE_TAG", "latest"),
            "access": os.environ.get("RUNNER_K8S_ACCESS", "port-forward"), "startTimeout": 180}


def test_real_cluster_spawn_execute_cleanup(cluster_options):
    from runner.runtimes.k8s_api import K8sApi
    from runner.runtimes.k8s_options import parse_settings
    from runner.runtimes.kubernetes import KubernetesRuntime

    ctx = RunContext(environ=dict(os.environ))
    rt = KubernetesRuntime(ctx, cluster_options)
    assert rt.available() is None
    infos = [AgentInfo(id=f"real-{i}", name=f"real-{i}", type="command",
                       definition=AgentDef(type="command", command=PROGRAM)) for i in (1, 2)]
    try:
        for info in infos:
            handle = rt.spawn(info)
            handle.start()
            assert handle.state == S.READY
            result = handle.execute(TaskRequest(task_id="t", description="hi", timeout=60))
            assert result.result == "echo: hi"
        handle.stop()
        assert handle.state == S.STOPPED
    finally:
        assert rt.cleanup() == []
    api = K8sApi(parse_settings(cluster_options, os.environ))
    try:
        assert api.list_managed("Pod", ctx.run_id) == [] or all(
            p.metadata.deletion_timestamp for p in api.list_managed("Pod", ctx.run_id))
        assert api.list_managed("Secret", ctx.run_id) == []
    finally:
        api.close()
