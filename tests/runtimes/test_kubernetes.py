"""The kubernetes runtime over HTTP with the official client against kmock's emulator.

What is real: the official ``kubernetes`` client and its HTTP calls, every manifest the runtime
sends, the agent server (``runner agent serve`` started from the Pod's own command, args, env and
Secret by the kubelet stand-in in ``k8s_helpers``), the exec readiness probe, the protocol's HTTP
client. What is not: the API server (an in-memory emulator) and the node (local processes with
pod IPs on the loopback network). See docs/runtimes.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from k8s_helpers import NAMESPACE, Emulator, Kubelet, poll

from runner.agents.lifecycle import AgentState as S
from runner.agents.model import AgentInfo, TaskRequest
from runner.context import RunContext
from runner.errors import AgentFailure, ConfigurationError, FailureKind, LoginRequired
from runner.runtimes.base import GcRequest
from runner.runtimes.k8s_gc import owner_labels
from runner.runtimes.k8s_manifests import object_name
from runner.runtimes.kubernetes import KubernetesRuntime
from runner.spec.models import AgentDef, Resources

HELPERS = Path(__file__).resolve().parents[1] / "helpers" / "programs"
ANSWER = (sys.executable, str(HELPERS / "answer_json.py"))


@pytest.fixture
def emu(tmp_path: Path):
    with Emulator(tmp_path) as e:
        yield e


@pytest.fixture
def kubelet(emu: Emulator, tmp_path: Path):
    with Kubelet(emu, tmp_path) as k:
        yield k
    assert not k.errors, k.errors


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    return RunContext(workdir=tmp_path, state_dir=tmp_path / ".runner",
                      environ={"MY_KEY": "s3cret-value", "PATH": "/usr/bin"})


def options(emu: Emulator, **more) -> dict:
    return {"namespace": NAMESPACE, "kubeconfig": str(emu.kubeconfig), "access": "pod-ip",
            "startTimeout": 20, "gracePeriod": 2, **more}


def agent(agent_id: str = "a1", **kw) -> AgentInfo:
    d = AgentDef(type="command", command=kw.pop("command", ANSWER), **kw)
    return AgentInfo(id=agent_id, name=agent_id, type="command", definition=d, source="template:t")


def test_spawn_execute_stop_leaves_nothing(emu, kubelet, ctx):
    seen = []
    ctx.bus.subscribe(seen.append)
    rt = KubernetesRuntime(ctx, options(emu))
    assert rt.available() is None
    info = agent(credentials={"API_KEY": "MY_KEY"}, resources=Resources(cpu=0.5, timeout=600))
    handle = rt.spawn(info)
    handle.start()
    assert handle.state == S.READY
    name = object_name(ctx.run_id, "a1")
    assert emu.names("Pod", ctx.run_id) == [name] and emu.names("Secret", ctx.run_id) == [name]
    # the pod's process got the credential and token from the Secret, not from the manifest
    assert kubelet.envs[name]["API_KEY"] == "s3cret-value"
    pod = emu.core.read_namespaced_pod(name, NAMESPACE)
    assert "s3cret-value" not in str(pod.to_dict())
    assert pod.spec.active_deadline_seconds == 600
    assert handle.endpoint == f"http://{kubelet.ips[name]}:8080"
    result = handle.execute(TaskRequest(task_id="t1", description="hello", timeout=20))
    assert result.result == "echo: hello" and result.confidence == 0.9
    # the agent program itself (not only the server) got the credential and the pool's env
    dumped = rt.spawn(agent("env", command=(sys.executable, str(HELPERS / "env_dump.py")),
                            credentials={"API_KEY": "MY_KEY"}, env={"COLOR": "blue"}))
    dumped.start()
    env = dumped.execute(TaskRequest(task_id="t2", description="env", timeout=20)).result
    assert env["API_KEY"] == "s3cret-value" and env["COLOR"] == "blue"
    assert "RUNNER_AGENT_TOKEN" not in env  # the server's token stays with the server
    dumped.stop()
    assert handle.health().healthy
    handle.stop()
    assert handle.state == S.STOPPED
    assert emu.names("Pod", ctx.run_id) == [] and emu.names("Secret", ctx.run_id) == []
    poll(lambda: not kubelet.running(), 20, what="the pod's process to end")
    assert rt.cleanup() == []
    mine = [e.state for e in seen if e.name == "state_changed" and e.agent_id == "a1"]
    assert mine == [S.STARTING, S.READY, S.BUSY, S.READY, S.STOPPING, S.STOPPED]
    assert all("s3cret-value" not in f"{e.detail} {e.data}" for e in seen)


def test_cleanup_deletes_everything_labelled_with_the_run(emu, kubelet, ctx):
    rt = KubernetesRuntime(ctx, options(emu))
    for i in (1, 2):
        rt.spawn(agent(f"a{i}")).start()
    # a pod and secret of another (live) run must survive: the emulator ignores selectors, so
    # the runtime filters by label itself
    other = KubernetesRuntime(RunContext(environ={}), options(emu))
    other.spawn(agent("b1")).start()
    assert len(emu.names("Pod")) == 3
    assert rt.cleanup() == []
    assert emu.names("Pod", ctx.run_id) == [] and emu.names("Secret", ctx.run_id) == []
    assert len(emu.names("Pod")) == 1 and len(emu.names("Secret")) == 1
    assert gc_lines(emu) == []  # its owner (this process) is alive
    assert other.cleanup() == []


def gc_lines(emu, **request):
    """What ``runner gc`` prints for the cluster (the runtime's ``gc`` of the contract)."""
    return [left.line() for left in KubernetesRuntime.gc(options(emu), GcRequest(**request)).leftovers]


def test_gc_removes_dead_runs_only(emu, kubelet, ctx):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner = owner_labels(proc.pid)
    proc.wait()
    runs = {}
    for key, owner in [("dead", dead_owner), ("live", owner_labels()),
                       ("elsewhere", {**owner_labels(), "runner.host": "another-host"})]:
        rt = KubernetesRuntime(RunContext(environ={}), options(emu))
        rt.owner = owner
        rt.spawn(agent(key)).start()
        runs[key] = rt
    dead_run = runs["dead"].ctx.run_id
    lines = gc_lines(emu, dry_run=True)
    assert lines == [f"pod\t{object_name(dead_run, 'dead')}\trun {dead_run}\twould remove",
                     f"secret\t{object_name(dead_run, 'dead')}\trun {dead_run}\twould remove"]
    assert [line.rsplit("\t", 1)[1] for line in gc_lines(emu)] == ["removed", "removed"]
    assert emu.names("Pod", dead_run) == [] and len(emu.names("Pod")) == 2
    assert len(gc_lines(emu, all_hosts=True)) == 2  # + the other host's pod and secret
    assert [n for n in emu.names("Pod")] == [object_name(runs["live"].ctx.run_id, "live")]
    for rt in runs.values():
        assert rt.cleanup() == []
    assert emu.names("Pod") == [] and emu.names("Secret") == []


def test_not_ready_in_time_names_phase_and_events(emu, kubelet, ctx):
    rt = KubernetesRuntime(ctx, options(emu, startTimeout=1.5, images={"command": "missing/agent:1"}))
    handle = rt.spawn(agent())
    with pytest.raises(AgentFailure) as err:
        handle.start()
    text = str(err.value)
    assert err.value.kind == FailureKind.INFRASTRUCTURE
    assert "not ready after 1.5s" in text and "ErrImagePull" in text
    assert 'Failed to pull image "missing/agent:1"' in text
    assert handle.state == S.ERROR
    assert rt.cleanup() == []
    assert emu.names("Pod") == [] and emu.names("Secret") == []


def test_failed_pod_is_reported(emu, kubelet, ctx):
    rt = KubernetesRuntime(ctx, options(emu, startTimeout=10))
    handle = rt.spawn(agent(command=()))
    # `runner agent serve` refuses a command agent without a program (exit 2): the pod fails
    with pytest.raises(AgentFailure) as err:
        handle.start()
    assert "ended before it was ready: phase Failed" in str(err.value)
    assert rt.cleanup() == []
    assert emu.names("Pod") == []


def test_login_required_from_health(emu, kubelet, ctx):
    events = []
    ctx.bus.subscribe(events.append, "login_required")
    rt = KubernetesRuntime(ctx, options(emu))
    handle = rt.spawn(agent(command=(sys.executable, str(HELPERS / "login.py")), mode="long-lived",
                            ready_pattern=r"^agent> "))
    with pytest.raises(LoginRequired) as err:
        handle.start()
    assert "https://login.example.com/device?code=ABCD-1234" in err.value.instruction
    assert events and "login.example.com" in events[0].detail
    name = object_name(ctx.run_id, "a1")
    assert name not in kubelet.ready  # the readiness probe failed all along: /health said 503
    assert rt.cleanup() == []
    assert emu.names("Pod") == []


def test_missing_credential_and_bad_options(emu, kubelet, ctx):
    rt = KubernetesRuntime(ctx, options(emu))
    handle = rt.spawn(agent(credentials={"API_KEY": "NOT_SET"}))
    with pytest.raises(AgentFailure) as err:
        handle.start()
    assert err.value.kind == FailureKind.CONFIG and "NOT_SET" in str(err.value)
    assert emu.names("Pod") == []
    with pytest.raises(ConfigurationError, match="unknown key `acess` \\(did you mean `access`\\?\\)"):
        KubernetesRuntime(ctx, {"acess": "pod-ip"})
    with pytest.raises(ConfigurationError, match="imagePullPolicy"):
        KubernetesRuntime(ctx, {"imagePullPolicy": "Sometimes"})


def test_existing_secret_supplies_credentials(emu, kubelet, ctx):
    emu.core.create_namespaced_secret(NAMESPACE, {"apiVersion": "v1", "kind": "Secret",
                                                  "metadata": {"name": "agent-keys"},
                                                  "stringData": {"API_KEY": "from-the-pool-secret"}})
    rt = KubernetesRuntime(ctx, options(emu, secretName="agent-keys"))
    handle = rt.spawn(agent(credentials={"API_KEY": "NOT_SET_HERE"}))
    handle.start()
    assert kubelet.envs[object_name(ctx.run_id, "a1")]["API_KEY"] == "from-the-pool-secret"
    assert rt.cleanup() == []
    assert emu.names("Secret") == ["agent-keys"]  # not the runtime's to delete


def test_unreachable_api_server(ctx, tmp_path):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                   "users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                   "current-context: x\n")
    rt = KubernetesRuntime(ctx, {"kubeconfig": str(cfg), "access": "pod-ip"})
    why = rt.available()
    assert why is not None and "listing pods in namespace runner failed" in why
    with pytest.raises(ConfigurationError, match="cannot load the cluster configuration"):
        KubernetesRuntime(ctx, {"kubeconfig": str(tmp_path / "nope")}).available()


def test_port_forward_access_relays_through_a_local_port(emu, kubelet, ctx, monkeypatch):
    """``access: port-forward`` end to end, except the API server's tunnel: the emulator has no
    ``pods/portforward`` WebSocket, so each relayed connection opens a plain TCP connection to
    the pod instead of ``kubernetes.stream.portforward``'s socket (same socket interface)."""
    import socket

    from runner.runtimes import k8s_forward

    opened = []

    def tunnel(api, pod, port):
        def open_stream():
            opened.append(pod)
            return socket.create_connection((kubelet.ips[pod], port), timeout=5)
        return open_stream

    monkeypatch.setattr(k8s_forward, "client_stream", tunnel)
    rt = KubernetesRuntime(ctx, options(emu, access="port-forward"))
    handle = rt.spawn(agent())
    handle.start()
    assert handle.endpoint.startswith("http://127.0.0.1:") and opened
    result = handle.execute(TaskRequest(task_id="t1", description="through the tunnel", timeout=20))
    assert result.result == "echo: through the tunnel"
    handle.stop()
    assert rt.cleanup() == [] and emu.names("Pod") == []
    with pytest.raises(OSError):  # the local listener is closed with the handle
        socket.create_connection(("127.0.0.1", int(handle.endpoint.rsplit(":", 1)[1])), timeout=2).close()


def test_stop_deletes_with_grace_then_forces(emu, kubelet, ctx):
    """A pod still there after the grace period (here: held by a finalizer) is deleted again
    with grace 0; every call the runtime made is on the emulator's request log."""
    rt = KubernetesRuntime(ctx, options(emu, gracePeriod=1))
    handle = rt.spawn(agent())
    handle.start()
    name = object_name(ctx.run_id, "a1")
    emu.core.patch_namespaced_pod(name, NAMESPACE, {"metadata": {"finalizers": ["test/hold"]}})
    handle.stop()
    deletes = [r for r in list(emu.emu) if str(r.method).upper().endswith("DELETE") and r.name == name
               and r.resource is not None and r.resource.plural == "pods"]
    graces = [(r.data or {}).get("gracePeriodSeconds", r.params.get("gracePeriodSeconds")) for r in deletes]
    assert [str(g) for g in graces] == ["1", "0"], graces
    emu.core.patch_namespaced_pod(name, NAMESPACE, {"metadata": {"finalizers": []}})
    assert rt.cleanup() == []
    assert emu.names("Pod") == [] and emu.names("Secret") == []


def test_missing_client_package_is_one_configuration_line(ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if `runner[kubernetes]` were not installed
    with pytest.raises(ConfigurationError) as err:
        KubernetesRuntime(ctx, {"access": "pod-ip"})
    assert str(err.value) == ("runtime `kubernetes` needs the Python package `kubernetes`: "
                              "pip install 'runner[kubernetes]'")


def test_pod_dying_mid_task_is_a_crash(emu, kubelet, ctx):
    import os
    import signal
    import threading

    worker = Path(__file__).resolve().parents[1] / "protocol" / "programs" / "worker.py"
    rt = KubernetesRuntime(ctx, options(emu))
    handle = rt.spawn(agent(command=(sys.executable, str(worker))))
    handle.start()
    name = object_name(ctx.run_id, "a1")
    errors = []

    def run():
        try:
            handle.execute(TaskRequest(task_id="t", description="sleep 20", timeout=30))
        except AgentFailure as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    poll(lambda: handle.state == S.BUSY, 20, what="busy")
    os.killpg(kubelet.procs[name].pid, signal.SIGKILL)  # the node loses the container
    t.join(20)
    assert errors and errors[0].kind == FailureKind.CRASH, errors
    assert "the pod ended during the task: phase Failed" in str(errors[0])
    assert handle.state == S.ERROR
    assert rt.cleanup() == [] and emu.names("Pod") == []


def test_port_forward_asks_the_api_server_for_the_pods_portforward(emu, kubelet, ctx):
    """Without the stand-in tunnel: the official client's portforward request reaches the API
    server for the right pod and port (the emulator cannot upgrade it to a WebSocket, so the
    agent is never reached and start() times out naming the pod's state)."""
    rt = KubernetesRuntime(ctx, options(emu, access="port-forward", startTimeout=2))
    handle = rt.spawn(agent())
    with pytest.raises(AgentFailure, match="not ready after 2s: phase Running, Ready=True"):
        handle.start()
    name = object_name(ctx.run_id, "a1")
    asked = [r for r in list(emu.emu) if r.subresource == "portforward"]
    assert asked and asked[0].name == name and asked[0].namespace == NAMESPACE
    assert asked[0].params.get("ports") == "8080"
    assert rt.cleanup() == []
