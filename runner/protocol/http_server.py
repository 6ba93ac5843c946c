"""The HTTP flavour of the agent server: a WSGI app served by waitress.

Routes (see docs/protocol.md): ``POST /execute``, ``POST /execute-workspace`` (a task with its
workspace streamed after it; the reply's change streamed after its JSON), ``POST /cancel``, ``GET /health``,
``GET /metrics`` (JSON, or Prometheus text for ``Accept: text/plain`` / ``?format=prometheus``),
``GET /output?taskId=ID`` (newline-delimited JSON chunks until the task ends) and the
unauthenticated ``GET /livez`` for probes that cannot send a token.

Why waitress (not ``http.server``, which spends a thread on every connection and waits for a
slow client forever): its event loop reads requests, so a connection costs a file descriptor,
not a thread, until its request is complete; the number of connections is capped
(``HttpLimits.connections``), a connection that sends nothing for ``idle_timeout`` seconds
while no request of it runs is closed, and requests run on a fixed pool of threads. It has no
TLS of its own: ``runner.protocol.tls_channel`` adds it to waitress's channel.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import IO, Any
from urllib.parse import parse_qs

from waitress import wasyncore
from waitress.server import create_server

from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import wire
from runner.protocol.auth import authorized
from runner.protocol.service import AgentService, Busy, Unavailable
from runner.protocol.tls_channel import tls_channel
from runner.workspace.transfer import CHUNK, HEAD_LIMIT, OVERHEAD

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
StartResponse = Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class HttpLimits:
    """What one client may hold of the server (documented in docs/protocol.md)."""

    connections: int = 256  # open connections at once; beyond, new ones wait in the listen backlog
    idle_timeout: float = 30.0  # s a connection may send nothing while no request of it runs
    # Threads that run requests: each task holds one for /execute and one for its /output
    # stream; the rest answer /health, /cancel and /metrics meanwhile.
    spare_threads: int = 4


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


def _reply(start: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    return _reply_text(start, status, json.dumps(body), "application/json")


def _reply_text(start: StartResponse, status: int, text: str, content_type: str) -> list[bytes]:
    data = text.encode()
    start(f"{status} {HTTPStatus(status).phrase}",
          [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _error(start: StartResponse, status: int, kind: FailureKind, message: str) -> list[bytes]:
    return _reply(start, status, wire.error_json(kind, message))


class AgentApp:
    """The agent protocol as a WSGI application (one instance per server)."""

    def __init__(self, service: AgentService, token: str | None) -> None:
        self.service = service
        self.token = token
        self.inflight = 0  # /execute calls whose reply is not written yet
        self.idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if method == "GET" and path == "/livez":
            return _reply(start, 200, {"ok": True})
        if method not in ("GET", "POST") or path not in _ROUTES.get(method, ()):
            return _error(start, 404, FailureKind.CONFIG, f"no route {method} {path}")
        if not authorized(self.token, environ.get("HTTP_AUTHORIZATION")):
            return _error(start, HTTPStatus.UNAUTHORIZED, FailureKind.CONFIG, "missing or wrong bearer token")
        if method == "POST":
            return self._post(environ, start, path)
        if path == "/health":
            body = self.service.health()
            return _reply(start, 200 if body["healthy"] else 503, body)
        if path == "/metrics":
            if _wants_prometheus(query.get("format", [""])[0], environ.get("HTTP_ACCEPT", "")):
                return _reply_text(start, 200, self.service.prometheus(), PROMETHEUS_TYPE)
            return _reply(start, 200, self.service.metrics())
        return self._stream(environ, start, query.get("taskId", [""])[0])

    def _post(self, environ: dict[str, Any], start: StartResponse, path: str) -> Iterable[bytes]:
        # waitress has received the whole body already, spooled to a temporary file past 512 KiB,
        # and refused one over its limit with 413: what is read here is read in pieces
        source = environ["wsgi.input"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            if path == "/execute-workspace":  # a JSON line, then the workspace's tar.gz (protocol 3)
                head = source.readline(HEAD_LIMIT + 1)
                if not head.endswith(b"\n"):
                    raise ValueError(f"the task's JSON line is missing or over {HEAD_LIMIT >> 20} MiB")
                request = wire.request_from_json(json.loads(head), source)
            else:
                if length > HEAD_LIMIT:  # a workspace inline (an older caller) or worse: not read
                    return _error(start, 413, FailureKind.CONFIG, f"the body is {length} bytes, over "
                                  f"{HEAD_LIMIT >> 20} MiB; {wire.INLINE_REFUSED}")
                body = json.loads(source.read(length) or b"null")
                if path == "/cancel":
                    task_id = body.get("taskId") if isinstance(body, dict) else None
                    if not isinstance(task_id, str) or not task_id:
                        raise ValueError("`taskId` (a non-empty string) is required")
                    return _reply(start, 200, {"taskId": task_id, "cancelled": self.service.cancel(task_id)})
                request = wire.request_from_json(body)
        except (ValueError, wire.Malformed) as exc:
            return _error(start, 400, FailureKind.CONFIG, f"bad request: {exc}")
        with self.idle:
            self.inflight += 1
        try:
            return self._execute(environ, start, request)
        finally:
            with self.idle:
                self.inflight -= 1
                self.idle.notify_all()

    def _execute(self, environ: dict[str, Any], start: StartResponse, request: Any) -> Iterable[bytes]:
        headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            result = self.service.execute(request, trace_context=trace.extract(headers))
        except Busy as exc:
            return _error(start, 409, FailureKind.INFRASTRUCTURE, str(exc))
        except Unavailable as exc:
            return _error(start, 503, FailureKind.INFRASTRUCTURE, str(exc))
        except AgentFailure as exc:
            return _error(start, 500, exc.kind, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in the agent must not kill the server
            return _error(start, 500, FailureKind.CRASH, f"internal error: {type(exc).__name__}: {exc}")
        if result.patch_file is not None:
            return _streamed(start, result.patch_file, result)
        return _reply(start, 200, wire.result_to_json(result))

    def _stream(self, environ: dict[str, Any], start: StartResponse, task_id: str) -> Iterator[bytes]:
        # One JSON object per line, flushed as the agent prints (waitress sends it chunked).
        sub = self.service.subscribe(task_id)
        gone: Callable[[], bool] = environ.get("waitress.client_disconnected") or (lambda: False)
        start("200 OK", [("Content-Type", "application/x-ndjson")])

        def lines() -> Iterator[bytes]:
            # An empty line first: a WSGI server sends the headers with the first bytes of the
            # body, and the client sends its task only once it sees them (so no output is missed).
            yield b"\n"
            try:
                while not gone():
                    try:
                        item = sub.get(timeout=1.0)
                    except queue.Empty:
                        continue
                    if item is None:
                        break
                    yield (json.dumps({"taskId": item[0], "text": item[1]}) + "\n").encode()
            finally:
                sub.close()

        return lines()


_ROUTES = {"GET": ("/health", "/metrics", "/output"), "POST": ("/execute", "/execute-workspace", "/cancel")}


def _streamed(start: StartResponse, change: IO[bytes], result: Any) -> Iterable[bytes]:
    """The reply to a streamed task: its JSON line, then the change read from its file in pieces."""
    size = os.fstat(change.fileno()).st_size
    head = (json.dumps(wire.result_to_json(result, size)) + "\n").encode()
    start("200 OK", [("Content-Type", wire.STREAMED_RESULT), ("Content-Length", str(len(head) + size))])
    return _FileReply(head, change)


class _FileReply:
    """A WSGI body read from a file; the server calls ``close`` when it is sent (or the client left)."""

    def __init__(self, head: bytes, change: IO[bytes]) -> None:
        self.head, self.change = head, change

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        while piece := self.change.read(CHUNK):
            yield piece

    def close(self) -> None:
        self.change.close()


class HttpAgentServer:
    """``start()`` serves in a background thread; ``port`` is the bound port (0 picks one)."""

    def __init__(self, service: AgentService, host: str, port: int, *, token: str | None = None,
                 tls: ssl.SSLContext | None = None, limits: HttpLimits | None = None) -> None:

        limits = limits or HttpLimits()
        self.app = AgentApp(service, token)
        self.tls = tls
        # One socket bound as asked (waitress would bind every address a name resolves to).
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._map: dict[int, Any] = {}
        self._server = create_server(
            self.app, map=self._map, sockets=[sock], ident="runner-agent/" + wire.PROTOCOL_VERSION,
            threads=2 * service.concurrency + limits.spare_threads,
            connection_limit=limits.connections,
            channel_timeout=max(1, round(limits.idle_timeout)),
            cleanup_interval=max(1, round(limits.idle_timeout / 4)),
            # a streamed task brings its workspace after its JSON: room for the server's cap
            max_request_body_size=HEAD_LIMIT + service.max_workspace + OVERHEAD,
            max_request_header_size=64 << 10,
            channel_request_lookahead=1,  # keeps a streaming client readable: its disconnect is seen
            asyncore_use_poll=True,  # select() cannot watch descriptors past 1024
            expose_tracebacks=False, log_socket_errors=False)
        if tls is not None:
            self._server.channel_class = tls_channel(tls)
        self.host = host
        self.port = int(self._server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="runner-http", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> HttpAgentServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                wasyncore.poll2(1.0, self._map)
            wasyncore.dispatcher.close(self._server)  # stop listening (the trigger stays for writers)
            deadline = time.monotonic() + 1.0  # let replies already handed over reach their clients
            while time.monotonic() < deadline and any(
                    getattr(ch, "total_outbufs_len", 0) for ch in list(self._map.values())):
                wasyncore.poll2(0.05, self._map)
        finally:
            wasyncore.close_all(self._map)

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting; wait up to ``grace`` seconds for replies still being written."""
        with self.app.idle:
            self.app.idle.wait_for(lambda: self.app.inflight == 0, timeout=grace)
        self._stopping.set()
        self._server.pull_trigger()  # wake the loop now
        self._thread.join(timeout=5.0)
        self._server.task_dispatcher.shutdown(timeout=1)


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context from PEM files."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx
