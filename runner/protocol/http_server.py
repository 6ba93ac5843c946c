"""The HTTP flavour of the agent server (stdlib ``http.server``, one thread per connection).

Routes (see docs/protocol.md): ``POST /execute``, ``POST /cancel``, ``GET /health``,
``GET /metrics`` (JSON, or Prometheus text for ``Accept: text/plain`` / ``?format=prometheus``),
``GET /output?taskId=ID`` (newline-delimited JSON chunks until the task ends) and the
unauthenticated ``GET /livez`` for probes that cannot send a token.
"""

from __future__ import annotations

import json
import queue
import ssl
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import wire
from runner.protocol.auth import authorized
from runner.protocol.service import AgentService, Busy, Unavailable

_MAX_BODY = 16 << 20
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _wants_prometheus(fmt: str, accept: str) -> bool:
    """``?format=prometheus``, or an ``Accept`` that asks for text (a Prometheus scraper) before JSON.

    JSON stays the default (no ``Accept``, ``*/*``, ``application/json``): existing clients keep working.
    """
    if fmt:
        return fmt.lower() in ("prometheus", "text")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("text/plain", "application/openmetrics-text"):
            return True
        if media in ("application/json", "*/*"):
            return False
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    service: AgentService
    token: str | None
    tls: ssl.SSLContext | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inflight = 0  # /execute calls whose reply is not written yet
        self.idle = threading.Condition()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's thread, not in the accept loop.
        if self.tls is None:
            return super().finish_request(request, client_address)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return None  # a client that does not speak TLS (or does not trust us)
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()  # the plain socket was detached into it; the server closes only that


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection per agent
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server
    server_version = "runner-agent/" + wire.PROTOCOL_VERSION

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # access logs would be noise; headers (the token) are never logged

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, status: int, text: str, content_type: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: FailureKind, message: str) -> None:
        self._send(status, wire.error_json(kind, message))

    def _authorized(self) -> bool:
        if authorized(self.server.token, self.headers.get("Authorization")):
            return True
        self._error(HTTPStatus.UNAUTHORIZED, FailureKind.CONFIG, "missing or wrong bearer token")
        return False

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlsplit(self.path)
        if url.path == "/livez":
            return self._send(200, {"ok": True})
        if not self._authorized():
            return None
        service = self.server.service
        if url.path == "/health":
            body = service.health()
            return self._send(200 if body["healthy"] else 503, body)
        if url.path == "/metrics":
            if _wants_prometheus(parse_qs(url.query).get("format", [""])[0], self.headers.get("Accept", "")):
                return self._send_text(200, service.prometheus(), PROMETHEUS_TYPE)
            return self._send(200, service.metrics())
        if url.path == "/output":
            return self._stream(parse_qs(url.query).get("taskId", [""])[0])
        return self._error(404, FailureKind.CONFIG, f"no route {url.path}")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path
        if path not in ("/execute", "/cancel"):
            return self._error(404, FailureKind.CONFIG, f"no route {self.path}")
        if not self._authorized():
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            return self._error(413, FailureKind.CONFIG, "request body too large")
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            if path == "/cancel":
                task_id = body.get("taskId") if isinstance(body, dict) else None
                if not isinstance(task_id, str) or not task_id:
                    raise ValueError("`taskId` (a non-empty string) is required")
                return self._send(200, {"taskId": task_id, "cancelled": self.server.service.cancel(task_id)})
            request = wire.request_from_json(body)
        except (ValueError, wire.Malformed) as exc:
            return self._error(400, FailureKind.CONFIG, f"bad request: {exc}")
        with self.server.idle:
            self.server.inflight += 1
        try:
            self._execute(request)
        finally:
            with self.server.idle:
                self.server.inflight -= 1
                self.server.idle.notify_all()

    def _execute(self, request: Any) -> None:
        try:
            parent = trace.extract({k.lower(): v for k, v in self.headers.items()})
            result = self.server.service.execute(request, trace_context=parent)
        except Busy as exc:
            return self._error(409, FailureKind.INFRASTRUCTURE, str(exc))
        except Unavailable as exc:
            return self._error(503, FailureKind.INFRASTRUCTURE, str(exc))
        except AgentFailure as exc:
            return self._error(500, exc.kind, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in the agent must not kill the server
            return self._error(500, FailureKind.CRASH, f"internal error: {type(exc).__name__}: {exc}")
        self._send(200, wire.result_to_json(result))

    def _stream(self, task_id: str) -> None:
        # Close-delimited body: one JSON object per line, flushed as the agent prints.
        sub = self.server.service.subscribe(task_id)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                try:
                    item = sub.get(timeout=1.0)
                except queue.Empty:
                    continue
                if item is None:
                    break
                line = json.dumps({"taskId": item[0], "text": item[1]}) + "\n"
                self.wfile.write(line.encode())
                self.wfile.flush()
        except OSError:
            pass  # the subscriber went away
        finally:
            sub.close()


class HttpAgentServer:
    """``start()`` serves in a background thread; ``port`` is the bound port (0 picks one)."""

    def __init__(self, service: AgentService, host: str, port: int, *, token: str | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.service = service
        self._server.token = token
        self._server.tls = tls
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="runner-http", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self._server.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> HttpAgentServer:
        self._thread.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting; wait up to ``grace`` seconds for replies still being written."""
        with self._server.idle:
            self._server.idle.wait_for(lambda: self._server.inflight == 0, timeout=grace)
        self._server.shutdown()
        self._server.server_close()


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context from PEM files."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx
