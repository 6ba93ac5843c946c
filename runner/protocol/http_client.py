"""The HTTP(S) agent client (stdlib ``http.client``: no import cost beyond the stdlib).

One keep-alive connection per concurrent call is kept and reused. Connect and read timeouts
are separate: connecting may take ``CONNECT_TIMEOUT``; the reply may take the task's timeout
plus ``READ_GRACE`` (the server enforces the task timeout itself and answers ``timeout``).
A task with a workspace (protocol 3) goes to ``POST /execute-workspace``: its JSON line, then the
archive streamed from its file; the reply's JSON line, then the change.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, cast
from urllib.parse import quote, urlsplit

from runner.agents.handle import OutputCallback
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import wire
from runner.protocol.auth import AuthConfig, bearer
from runner.protocol.client import CONNECT_TIMEOUT, HEALTH_TIMEOUT, RemoteHandle
from runner.workspace.transfer import CHUNK, HEAD_LIMIT, Archive, limit_from_env, mib

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Connect(Exception):
    """Raised around failures that happened before the request reached the server."""


class HttpHandle(RemoteHandle):
    def __init__(self, info: AgentInfo, bus: EventBus, auth: AuthConfig | None) -> None:
        super().__init__(info, bus, auth)
        url = urlsplit(self.endpoint)
        self._https = url.scheme.lower() == "https"
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._busy: set[http.client.HTTPConnection] = set()
        self._pool_lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        if self._https:
            self._tls = ssl.create_default_context(cafile=self.auth.ca_file)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = bearer(self.auth.token)
        if token:
            self._headers["Authorization"] = token

    # ------------------------------------------------------------- connections

    def _new(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return http.client.HTTPSConnection(self._host, self._port, timeout=CONNECT_TIMEOUT,
                                               context=self._tls)
        return http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_TIMEOUT)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._pool_lock:
            conn, reused = (self._idle.pop(), True) if self._idle else (self._new(), False)
            self._busy.add(conn)
        return conn, reused

    def _give_back(self, conn: http.client.HTTPConnection, ok: bool) -> None:
        with self._pool_lock:
            self._busy.discard(conn)
            if ok and not self._stopped.is_set():
                self._idle.append(conn)
                return
        conn.close()

    def _close(self) -> None:
        with self._pool_lock:
            conns = self._idle + list(self._busy)
            self._idle = []
        for conn in conns:
            sock = conn.sock
            if sock is not None:
                try:  # wakes a thread blocked reading the reply
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()

    # ------------------------------------------------------------- one request

    def _request(self, method: str, path: str, body: bytes | Callable[[], Iterable[bytes]] | None,
                 read_timeout: float | None, headers: dict[str, str] | None = None,
                 read: Callable[[http.client.HTTPResponse], Any] = http.client.HTTPResponse.read) -> tuple[int, Any]:
        """(status, ``read(response)``: its body); raises AgentFailure classified by where it failed.

        ``body`` may be a function giving the body in pieces (a workspace streamed from its file;
        called again for the one retry on a fresh connection), sent with the headers' Content-Length."""
        headers = headers or self._headers
        for attempt in (1, 2):
            conn, reused = self._take()
            ok = False
            try:
                try:
                    if conn.sock is None:
                        conn.connect()
                        cast(socket.socket, conn.sock).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn.sock.settimeout(read_timeout)
                except OSError as exc:
                    raise _Connect() from exc
                try:
                    conn.request(method, self._prefix + path, body=body() if callable(body) else body,
                                 headers=headers)
                except (BrokenPipeError, ConnectionResetError):
                    # The server may have answered (413: over its cap) and closed before reading the
                    # rest of a large body: its answer says why; without one, the connection was lost.
                    if not callable(body):
                        raise
                    response = conn.getresponse()
                    return response.status, _read(response, read)
                response = conn.getresponse()
                data = _read(response, read)
                ok = not response.will_close
                return response.status, data
            except _Connect as wrapped:
                raise self._connect_failure(wrapped.__cause__) from wrapped.__cause__
            except _STALE as exc:
                # A reused keep-alive connection the server had closed: try once on a fresh one.
                if reused and attempt == 1 and not self._stopped.is_set():
                    continue
                raise self.failure(FailureKind.INFRASTRUCTURE, f"connection lost: {_describe(exc)}") from exc
            except http.client.BadStatusLine as exc:
                raise self.malformed(f"not an HTTP reply: {str(exc)[:80]!r}") from exc
            except TimeoutError as exc:
                raise self.failure(FailureKind.TIMEOUT, f"no reply within {read_timeout:g}s") from exc
            except ssl.SSLCertVerificationError as exc:
                raise self.failure(FailureKind.CONFIG, f"TLS certificate not trusted: {exc.verify_message}") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise self.failure(FailureKind.INFRASTRUCTURE, f"connection lost: {_describe(exc)}") from exc
            finally:
                self._give_back(conn, ok)
        raise AssertionError("unreachable")

    def _connect_failure(self, exc: BaseException | None) -> AgentFailure:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self.failure(FailureKind.CONFIG, f"TLS certificate not trusted: {exc.verify_message}")
        return self.failure(FailureKind.INFRASTRUCTURE, f"cannot connect: {_describe(exc)}")

    def _decode(self, status: int, data: bytes) -> Any:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise self.malformed(f"HTTP {status} with a body that is not JSON: {data[:80]!r}") from exc

    def _check_status(self, status: int, data: bytes) -> None:
        if status == 401:
            raise self.failure(FailureKind.CONFIG, "the agent refused the bearer token (HTTP 401); "
                               "check the pool's auth settings")
        if 200 <= status < 300:
            return
        try:
            err = wire.error_from_json(json.loads(data))
        except ValueError:
            err = None
        if status == 409:
            raise self.busy(err[1] if err else "HTTP 409")
        if status == 413:
            raise self.failure(FailureKind.CONFIG, "the request is larger than the agent server takes (HTTP 413): "
                               "a workspace over its cap (runner agent serve --max-workspace)?")
        if err is not None:
            raise self.failure(err[0], err[1])
        if status in (502, 503, 504):
            raise self.failure(FailureKind.INFRASTRUCTURE, f"HTTP {status}")
        raise self.malformed(f"HTTP {status} without an error body")

    # ------------------------------------------------------------- contract

    def _call_health(self) -> dict:
        status, data = self._request("GET", "/health", None, HEALTH_TIMEOUT)
        if status == 503:  # unhealthy, with the usual body
            body = self._decode(status, data)
            if isinstance(body, dict) and "healthy" in body:
                return body
        self._check_status(status, data)
        body = self._decode(status, data)
        if not isinstance(body, dict) or not isinstance(body.get("healthy"), bool):
            raise self.malformed("health reply without a boolean `healthy`")
        return body

    def metrics(self) -> dict:
        """The server's ``GET /metrics`` reply."""
        status, data = self._request("GET", "/metrics", None, HEALTH_TIMEOUT)
        self._check_status(status, data)
        body = self._decode(status, data)
        if not isinstance(body, dict):
            raise self.malformed("metrics reply is not a JSON object")
        return body

    def _call_cancel(self, task_id: str) -> bool:
        body = json.dumps({"taskId": task_id}).encode()
        status, data = self._request("POST", "/cancel", body, HEALTH_TIMEOUT)  # a quick control call
        self._check_status(status, data)
        reply = self._decode(status, data)
        return isinstance(reply, dict) and reply.get("cancelled") is True

    def _call_execute(self, request: TaskRequest, on_output: OutputCallback | None) -> TaskResult:
        head = json.dumps(wire.request_to_json(request)).encode()
        timeout = request.timeout + self.grace(request) if request.timeout else None
        stream = _OutputStream(self, request.task_id, on_output) if on_output else None
        try:
            # The W3C trace context (nothing when tracing is off): the server's span joins the run's trace.
            traced = trace.inject_headers({})
            headers = {**self._headers, **traced} if traced else self._headers
            if request.archive is None:
                status, data = self._request("POST", "/execute", head, timeout, headers)
            else:  # protocol 3: the JSON line, then the archive streamed from its file
                archive = request.archive
                size = len(head) + 1 + (archive.size or 0)
                headers = {**headers, "Content-Type": wire.STREAMED_TASK, "Content-Length": str(size)}
                status, data = self._request("POST", "/execute-workspace", lambda: _pieces(head, archive),
                                             timeout, headers, self._streamed_reply)
        finally:
            if stream is not None:
                stream.finish()
        if isinstance(data, TaskResult):
            return data
        self._check_status(status, data)
        try:
            return wire.result_from_json(self._decode(status, data))
        except wire.Malformed as exc:
            raise self.malformed(str(exc)) from exc

    def _streamed_reply(self, response: http.client.HTTPResponse) -> TaskResult | bytes:
        """A streamed task's reply: its JSON line, then the change (read whole: the caller applies
        and captures it, as a local agent's; refused unread when it says it is over the cap);
        an error's body as bytes."""
        if response.status != 200:
            return response.read()
        head = response.readline(HEAD_LIMIT + 1)
        try:
            obj = json.loads(head)
            result = wire.result_from_json(obj)
            size = wire.change_size(obj) if isinstance(obj, dict) else None
        except (ValueError, wire.Malformed) as exc:
            raise self.malformed(f"the reply's JSON line: {exc}") from exc
        if size is None:
            raise self.malformed("the reply to a task with a workspace has no `change`")
        limit = limit_from_env()
        if size > limit:
            raise self.malformed(f"the change is {mib(size)}, over the transfer cap of {mib(limit)}")
        patch = response.read(size)
        if len(patch) != size:
            raise self.malformed(f"the change ended after {len(patch)} of its {size} bytes")
        return replace(result, patch=patch)


class _OutputStream:
    """Follows ``GET /output?taskId=`` in a thread and feeds ``on_output`` (best effort)."""

    def __init__(self, handle: HttpHandle, task_id: str, on_output: OutputCallback) -> None:
        self._handle = handle
        self._on_output = on_output
        self._conn = handle._new()
        self._path = f"{handle._prefix}/output?taskId={quote(task_id)}"
        self._done = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"output-{task_id}", daemon=True)
        self._thread.start()
        self._subscribed.wait(CONNECT_TIMEOUT)  # so the first output is not missed

    def _run(self) -> None:
        try:
            self._conn.request("GET", self._path, headers=self._handle._headers)
            self._conn.sock.settimeout(None)
            response = self._conn.getresponse()
            self._subscribed.set()
            if response.status != 200:
                return
            for line in response:
                try:
                    self._on_output(json.loads(line)["text"])
                except (ValueError, KeyError, TypeError):
                    continue
        except (OSError, http.client.HTTPException):
            pass  # the output stream is best effort; the reply carries the transcript
        finally:
            self._subscribed.set()
            self._done.set()

    def finish(self) -> None:
        # The server ends the stream with the task; close it ourselves if that takes too long.
        deadline = time.monotonic() + 2.0
        while not self._done.is_set() and time.monotonic() < deadline:
            self._done.wait(0.05)
        sock = self._conn.sock
        if sock is not None and not self._done.is_set():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()
        self._thread.join(1.0)


def _read(response: http.client.HTTPResponse, read: Callable[[http.client.HTTPResponse], Any]) -> Any:
    """``read(response)``; a response not read to its end (a refused change) is closed, its socket with it."""
    try:
        return read(response)
    except BaseException:
        response.close()
        raise


def _pieces(head: bytes, archive: Archive) -> Iterator[bytes]:
    """A streamed task's body: its JSON line, then the archive read from the start in pieces."""
    yield head + b"\n"
    seek = getattr(archive.source, "seek", None)
    if seek is not None:
        seek(0)  # the one retry on a fresh connection sends it again
    while piece := archive.source.read(CHUNK):
        yield piece


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without a reply"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
