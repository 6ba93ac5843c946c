"""The HTTP agent server under hostile clients: connections cost no thread until their request
is complete, silent clients are dropped, and a normal request still gets through."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
from protocol_helpers import REPO, WORKER, poll

from runner.protocol.http_server import HttpAgentServer, HttpLimits
from runner.protocol.serve import ServeOptions, build_handle
from runner.protocol.service import AgentService
from runner.spec.models import AgentDef

pytestmark = pytest.mark.pty


@pytest.fixture
def server():
    handle = build_handle(ServeOptions(definition=AgentDef(type="command", command=WORKER), agent_id="w1"))
    service = AgentService(handle)
    http = HttpAgentServer(service, "127.0.0.1", 0, limits=HttpLimits(connections=400, idle_timeout=2)).start()
    service.start_agent()
    try:
        yield http
    finally:
        service.drain(0.5)
        http.stop(0.2)


def _health(url: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/health")
        reply = conn.getresponse()
        json.loads(reply.read())
        return reply.status
    finally:
        conn.close()


def test_half_open_connections_cost_no_threads_and_a_normal_request_is_served(server):
    before = threading.active_count()
    half_open = []
    try:
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", server.port))
            if i % 2:  # half of them start a request and never finish its headers
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            half_open.append(s)
        assert poll(lambda: _health(server.url) in (200, 503), what="a served request")
        # waitress's fixed pool (2 x concurrency + 4) is all there is: nothing per connection
        assert threading.active_count() - before <= 2 * 1 + HttpLimits().spare_threads
    finally:
        for s in half_open:
            s.close()


def test_a_client_that_never_finishes_its_headers_is_dropped(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Le")
    s.settimeout(20)
    started = time.monotonic()
    assert s.recv(1024) == b""  # closed by the server, not by our timeout
    assert 1.0 <= time.monotonic() - started < 15
    s.close()


def test_a_body_shorter_than_announced_is_dropped_too(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"task")
    s.settimeout(20)
    assert s.recv(1024) == b""
    s.close()


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "agent", "serve", "--id", "x", *args, "--", "true"],
                          cwd=REPO, capture_output=True, text=True, timeout=30, env=env)


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0"])
def test_no_token_on_a_non_loopback_address_is_refused(address):
    flag = "--grpc" if address.startswith("[") else "--http"
    proc = _serve(flag, address)
    assert proc.returncode == 2, proc.stderr
    assert "without a token" in proc.stderr and "--insecure" in proc.stderr
    assert proc.stdout == ""


def test_insecure_serves_with_a_warning():
    proc = subprocess.Popen([sys.executable, "-m", "runner", "agent", "serve", "--id", "x",
                             "--http", "0.0.0.0:0", "--insecure", "--", "true"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening http=http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warning: serving 0.0.0.0:0 WITHOUT a token (--insecure)" in err
