"""Execute, health, metrics and live output over both protocols, against a real PTY agent."""

from __future__ import annotations

import http.client
import threading

import grpc
import pytest
from protocol_helpers import poll, served

from runner.agents.lifecycle import AgentState
from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind
from runner.protocol import agent_pb2, agent_pb2_grpc

pytestmark = pytest.mark.pty
PROTOCOLS = ["http", "grpc"]


@pytest.fixture(scope="module")
def server():
    with served() as s:
        yield s


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_execute_returns_the_agents_answer(server, remote, protocol):
    handle = remote(server.urls[protocol])
    assert handle.state == AgentState.DISCOVERED
    handle.start()
    assert handle.state == AgentState.READY
    result = handle.execute(TaskRequest(task_id=f"t-{protocol}", description="hello world",
                                        data={"k": [1, 2]}, timeout=10))
    assert (result.task_id, result.result, result.confidence, result.reasoning) == \
        (f"t-{protocol}", "HELLO WORLD", 0.9, "upper-cased")
    assert "working on 'hello world'" in result.output
    assert result.usage == {"input_tokens": 11, "output_tokens": 11, "turns": 1}  # the optional usage field
    assert handle.state == AgentState.READY
    handle.stop()
    assert handle.state == AgentState.STOPPED


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_health_reports_runtime_and_agent(server, remote, protocol):
    handle = remote(server.urls[protocol])
    health = handle.health()
    assert health.healthy, health.message
    reply = handle.health_reply()
    assert reply["state"] == "ready"
    assert reply["runtime"] == {"name": "local", "type": "command", "activeAgents": 1}
    assert reply["loginRequired"] is False
    assert reply["agent"] == {"id": "w1", "name": "w1", "capabilities": ["code"]}
    assert reply["concurrency"] == 1
    assert reply["protocolVersion"] == "3"  # version 3: workspaces travel with a task, streamed


def test_metrics_over_http(server, remote):
    handle = remote(server.urls["http"])
    metrics = handle.metrics()
    assert set(metrics) - {"usage"} == {"cpu", "memory", "uptime", "messageCount"}  # usage: once reported
    assert metrics["memory"] > 0 and metrics["uptime"] > 0


def test_metrics_over_grpc(server, remote):
    metrics = remote(server.urls["grpc"]).health().metrics
    assert set(metrics) - {"usage"} == {"cpu", "memory", "uptime", "messageCount"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_on_output_gets_live_output(server, remote, protocol):
    handle = remote(server.urls[protocol])
    handle.start()
    chunks: list[str] = []
    result = handle.execute(TaskRequest(task_id=f"live-{protocol}", description="sleep 0.3", timeout=10),
                            on_output=chunks.append)
    text = "".join(chunks)
    assert "working on 'sleep 0.3'" in text and "tick" in text
    assert result.result == "SLEEP 0.3"


def test_stream_output_subscriber_sees_a_task_while_it_runs(server, remote):
    """A plain StreamOutput subscriber (all tasks) receives chunks before the task ends."""
    channel = grpc.insecure_channel(server.urls["grpc"].removeprefix("grpc://"))
    stub = agent_pb2_grpc.AgentStub(channel)
    stream = stub.StreamOutput(agent_pb2.StreamOutputRequest())
    seen: list[agent_pb2.OutputChunk] = []
    first = threading.Event()

    def follow() -> None:
        try:
            for chunk in stream:
                seen.append(chunk)
                first.set()
        except grpc.RpcError:
            pass

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    poll(lambda: server.service._subs, what="the subscription")
    done = threading.Event()
    handle = remote(server.urls["http"])
    handle.start()
    worker = threading.Thread(target=lambda: (handle.execute(
        TaskRequest(task_id="watched", description="sleep 0.5", timeout=10)), done.set()), daemon=True)
    worker.start()
    assert first.wait(5)
    assert not done.is_set(), "output arrived only after the task ended"
    worker.join(10)
    stream.cancel()
    reader.join(5)
    channel.close()
    assert {c.task_id for c in seen} == {"watched"}
    assert "tick" in "".join(c.text for c in seen)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_task_timeout_is_a_timeout(server, remote, protocol):
    handle = remote(server.urls[protocol])
    handle.start()
    with pytest.raises(AgentFailure) as err:
        handle.execute(TaskRequest(task_id=f"slow-{protocol}", description="sleep 30", timeout=0.5))
    assert err.value.kind == FailureKind.TIMEOUT
    assert handle.state == AgentState.READY


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_agent_reported_failure_keeps_its_kind(server, remote, protocol):
    handle = remote(server.urls[protocol])
    handle.start()
    with pytest.raises(AgentFailure) as err:
        handle.execute(TaskRequest(task_id=f"fail-{protocol}", description="fail", timeout=10))
    assert err.value.kind == FailureKind.TASK
    assert "exited with status 1" in str(err.value)
    assert err.value.agent_id == "w1"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_ends_the_task_on_the_server(server, remote, protocol):
    """HTTP: `POST /cancel`; gRPC: cancelling the call (the server's callback cancels the task)."""
    handle = remote(server.urls[protocol])
    handle.start()
    task_id = f"cancel-{protocol}"
    outcome: dict = {}

    def run() -> None:
        try:
            handle.execute(TaskRequest(task_id=task_id, description="sleep 60", timeout=90))
        except AgentFailure as exc:
            outcome["exc"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    poll(lambda: server.service.health()["activeTasks"] == 1, what="the task running on the server")
    assert handle.cancel(task_id) is True  # the task is known to the server: it will not go on
    worker.join(10)
    assert not worker.is_alive() and outcome["exc"].kind == FailureKind.CANCELLED
    # the server's task ended (its program killed), long before its 60 s
    poll(lambda: server.service.health()["activeTasks"] == 0, what="the server's task cancelled")
    assert handle.state == AgentState.READY
    assert handle.cancel("no-such-task") is False


def test_an_http_output_stream_answers_before_its_task_exists(server, remote):
    """Regression: the stream's headers waited for the task's first output, and the client
    sends its task only once subscribed, so every HTTP task with live output waited out the
    client's 5 s subscribe timeout first. The stream now opens with an empty line."""
    host, port = server.urls["http"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=2)  # would block until output: none comes
    try:
        conn.request("GET", "/output?taskId=not-sent-yet")
        response = conn.getresponse()
        assert response.status == 200
        assert response.readline() == b"\n"
    finally:
        conn.close()
    chunks: list[str] = []
    handle = remote(server.urls["http"])
    handle.start()
    result = handle.execute(TaskRequest(task_id="watched-http", description="say streamed", timeout=10),
                            on_output=chunks.append)
    assert result.result == "SAY STREAMED" and "working on" in "".join(chunks)
