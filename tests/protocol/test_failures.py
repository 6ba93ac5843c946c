"""How failures reach the executor: each one a real server misbehaving on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
from concurrent import futures

import grpc
import pytest
from protocol_helpers import WORKER, poll, serve_process, served

from runner.agents.lifecycle import AgentState
from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind
from runner.protocol import agent_pb2, agent_pb2_grpc

pytestmark = pytest.mark.pty
PROTOCOLS = ["http", "grpc"]


def _failure(fn) -> AgentFailure:  # type: ignore[no-untyped-def]
    with pytest.raises(AgentFailure) as err:
        fn()
    return err.value


def _worker_args() -> list[str]:
    return ["--", *WORKER]


# ---------------------------------------------------------------- unreachable / killed


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_connection_refused_is_infrastructure(remote, scheme):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    handle = remote(f"{scheme}://127.0.0.1:{port}")
    err = _failure(handle.start)
    assert err.kind == FailureKind.INFRASTRUCTURE
    assert handle.state == AgentState.ERROR
    assert not handle.health().healthy


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_killed_mid_call_is_infrastructure(remote, protocol):
    with serve_process(*_worker_args()) as server:
        handle = remote(server.urls[protocol])
        poll(lambda: handle.health().healthy, what="a healthy server")
        handle.start()
        watcher = remote(server.urls["http"])
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                handle.execute(TaskRequest(task_id="long", description="sleep 30", timeout=60))
            except BaseException as exc:  # noqa: BLE001 - inspected below
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        poll(lambda: watcher.health_reply()["activeTasks"] == 1, what="the task to run")
        server.proc.send_signal(signal.SIGKILL)
        caller.join(15)
        assert not caller.is_alive()
    assert isinstance(outcome[0], AgentFailure), outcome
    assert outcome[0].kind == FailureKind.INFRASTRUCTURE
    assert handle.state == AgentState.ERROR


# ---------------------------------------------------------------- malformed replies


class RawServer:
    """Accepts connections on 127.0.0.1 and answers every request with fixed bytes (or nothing)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept(): closing alone does not
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _http(body: bytes, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


HEALTHY = json.dumps({"healthy": True, "message": ""}).encode()


@pytest.mark.parametrize(("reply", "detail"), [
    (_http(b"not json {{{"), "not JSON"),
    (_http(b'{"taskId": "t1"}'), "missing field `result`"),
    (_http(b'{"taskId": "t1", "result": 1, "confidence": "high"}'), "field `confidence` has type str"),
    (_http(b'{"taskId": "other", "result": 1}'), "taskId 'other' answers task 't1'"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP reply"),
    (_http(b"<html>oops</html>", "500 Internal Server Error"), "HTTP 500 without an error body"),
])
def test_malformed_http_reply_is_a_parse_failure_naming_the_agent(remote, reply, detail):
    health, task = RawServer(_http(HEALTHY)), RawServer(reply)
    try:
        handle = remote(f"http://127.0.0.1:{health.port}", agent_id="bad1")
        handle.start()
        handle._port = task.port  # same handle, now talking to the garbage server
        err = _failure(lambda: handle.execute(TaskRequest(task_id="t1", description="x", timeout=5)))
    finally:
        health.close()
        task.close()
    assert err.kind == FailureKind.PARSE
    assert f"agent bad1 at http://127.0.0.1:{health.port} sent a malformed reply" in str(err)
    assert detail in str(err)


def test_http_reply_never_coming_is_a_timeout(remote):
    silent = RawServer(None)
    try:
        handle = remote(f"http://127.0.0.1:{silent.port}")
        handle.lifecycle.to(AgentState.READY)  # skip the health check: this server never answers
        handle.read_grace = 0.2
        started = time.monotonic()
        err = _failure(lambda: handle.execute(TaskRequest(task_id="t1", description="x", timeout=0.1)))
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert err.kind == FailureKind.TIMEOUT


class _BadServicer(agent_pb2_grpc.AgentServicer):
    def ExecuteTask(self, request, context):  # noqa: N802
        if request.description == "hang":
            time.sleep(2)
        return agent_pb2.ExecuteTaskResponse(task_id=request.task_id, result="not json {{{")

    def HealthCheck(self, request, context):  # noqa: N802
        return agent_pb2.HealthCheckResponse(healthy=True)


@pytest.fixture
def bad_grpc():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    agent_pb2_grpc.add_AgentServicer_to_server(_BadServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"grpc://127.0.0.1:{port}"
    server.stop(0).wait()


def test_malformed_grpc_result_is_a_parse_failure(remote, bad_grpc):
    handle = remote(bad_grpc, agent_id="bad2")
    handle.start()
    err = _failure(lambda: handle.execute(TaskRequest(task_id="t1", description="x", timeout=5)))
    assert err.kind == FailureKind.PARSE
    assert f"agent bad2 at {bad_grpc} sent a malformed reply: `result` is not JSON" in str(err)


def test_grpc_deadline_is_a_timeout(remote, bad_grpc):
    handle = remote(bad_grpc)
    handle.start()
    handle.read_grace = 0.2
    err = _failure(lambda: handle.execute(TaskRequest(task_id="t1", description="hang", timeout=0.1)))
    assert err.kind == FailureKind.TIMEOUT


# ---------------------------------------------------------------- auth, busy, TLS


@pytest.fixture(scope="module")
def guarded():
    with served(token="s3cret-token") as s:
        yield s


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_a_config_error(guarded, remote, protocol, token):
    handle = remote(guarded.urls[protocol], token=token)
    err = _failure(handle.start)
    assert err.kind == FailureKind.CONFIG
    assert "UNAUTHENTICATED" in str(err) or "401" in str(err)
    assert "s3cret" not in str(err) and "wrong-token" not in str(err)
    assert "wrong-token" not in repr(handle.auth)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_right_token_is_let_in(guarded, remote, protocol):
    handle = remote(guarded.urls[protocol], token="s3cret-token")
    handle.start()
    assert handle.execute(TaskRequest(task_id="t", description="ok", timeout=10)).result == "OK"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_busy_agent_says_busy(remote, protocol):
    with served() as server:  # a `command` agent takes one task at a time
        first, second = remote(server.urls[protocol]), remote(server.urls[protocol])
        first.start()
        second.start()
        runner = threading.Thread(target=lambda: first.execute(
            TaskRequest(task_id="long", description="sleep 1", timeout=10)))
        runner.start()
        poll(lambda: server.service._active, what="the first task to run")
        err = _failure(lambda: second.execute(TaskRequest(task_id="t2", description="x", timeout=10)))
        runner.join(10)
    assert err.kind == FailureKind.INFRASTRUCTURE
    assert "busy: agent w1 is running long" in str(err)
    assert err.busy is True
    assert second.state == AgentState.READY  # busy is not broken


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_with_the_right_ca(cert, remote, protocol):
    with served(tls=cert) as server:
        url = server.urls[protocol]
        assert url.startswith(("https://", "grpcs://"))
        handle = remote(url, ca_file=str(cert[0]))
        handle.start()
        assert handle.execute(TaskRequest(task_id="t", description="secure", timeout=10)).result == "SECURE"


def test_https_with_an_untrusted_certificate_is_a_config_error(cert, remote):
    with served(tls=cert) as server:
        err = _failure(remote(server.urls["http"]).start)
    assert err.kind == FailureKind.CONFIG
    assert "certificate not trusted" in str(err)


# ---------------------------------------------------------------- graceful stop


def test_sigterm_lets_the_running_task_finish(remote):
    with serve_process("--drain-timeout", "10s", *_worker_args()) as server:
        handle = remote(server.urls["grpc"])
        poll(lambda: handle.health().healthy, what="a healthy server")
        handle.start()
        results = []
        caller = threading.Thread(target=lambda: results.append(handle.execute(
            TaskRequest(task_id="last", description="sleep 0.5", timeout=10))))
        caller.start()
        watcher = remote(server.urls["http"])
        poll(lambda: watcher.health_reply()["activeTasks"] == 1, what="the task to run")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(15) == 0
        caller.join(5)
    assert results and results[0].result == "SLEEP 0.5"


def test_sigterm_cancels_a_task_past_the_drain_timeout(remote):
    with serve_process("--drain-timeout", "300ms", *_worker_args()) as server:
        handle = remote(server.urls["http"])
        poll(lambda: handle.health().healthy, what="a healthy server")
        handle.start()
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                handle.execute(TaskRequest(task_id="long", description="sleep 30", timeout=60))
            except BaseException as exc:  # noqa: BLE001 - inspected below
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        watcher = remote(server.urls["http"])
        poll(lambda: watcher.health_reply()["activeTasks"] == 1, what="the task to run")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(15) == 0
        assert time.monotonic() - started < 8
        caller.join(5)
    assert isinstance(outcome[0], AgentFailure)
    assert outcome[0].kind == FailureKind.INFRASTRUCTURE  # another agent may take the task
    assert "shut down before task long finished" in str(outcome[0])
