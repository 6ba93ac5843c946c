"""A small etcd v3 client over the HTTP/JSON gateway, speaking runner's errors.

Built on ``etcd3gw`` (sync, HTTP, no protobuf; ``etcd3`` 0.12 does not import with current
protobuf). ``etcd3gw`` gives us the transport: API-path discovery, HTTP status mapping,
TLS on a ``requests`` session. We add what it lacks:

- several endpoints, tried in order, with one bounded timeout per request;
- user/password auth (a token from ``/v3/auth/authenticate``, renewed when it expires);
- a watch stream read in the caller's thread: etcd3gw's own ``Watcher`` reads in a pool
  thread and swallows the error when the stream dies, so a dead watch would go unnoticed.
  Here the end of the stream is visible and the caller re-lists and re-watches.

Every failure leaves this module as ``InfrastructureError`` (unreachable, naming the
endpoints) or ``ConfigurationError`` (credentials refused); no secret is ever in a message.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import ConfigurationError, InfrastructureError

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "/runner/agents/"
DEFAULT_ENDPOINT = "http://127.0.0.1:2379"


class LeaseNotFound(InfrastructureError):
    """The lease is gone (expired, revoked, or etcd lost it): grant a new one."""


@dataclass(frozen=True, kw_only=True)
class TLSFiles:
    """PEM files for https endpoints: ``ca`` verifies the server, ``cert``+``key`` identify us."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True, kw_only=True)
class WatchEvent:
    """One change under the watched prefix: ``kind`` is ``put`` or ``delete``."""

    kind: str
    key: str
    value: bytes
    revision: int


def parse_endpoints(value: str | Sequence[str]) -> list[str]:
    """``etcd://h:p,h:p`` / ``http://h:p`` / ``h:p`` (or a list of those) → ``["http://h:p", ...]``."""
    items = [part for item in ([value] if isinstance(value, str) else value) for part in str(item).split(",")]
    out: list[str] = []
    for raw in items:
        item = str(raw).strip().rstrip("/")
        if not item:
            continue
        for scheme, replacement in (("etcd://", "http://"), ("etcds://", "https://")):
            if item.startswith(scheme):
                item = replacement + item[len(scheme) :]
        if "://" not in item:
            item = "http://" + item
        out.append(item)
    if not out:
        raise ConfigurationError(f"no etcd endpoint in {value!r}")
    return out


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _range_end(prefix: str) -> str:
    """The key just past every key starting with ``prefix`` (etcd's prefix convention)."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


def _detail(exc: Exception) -> str:
    """etcd's own error message from an etcd3gw exception (its body is JSON)."""
    text = getattr(exc, "detail_text", None) or ""
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text or str(exc) or type(exc).__name__


class EtcdClient:
    """Requests to one etcd cluster; thread-safe for the calls below (one lock per request)."""

    def __init__(
        self,
        endpoints: str | Sequence[str],
        *,
        timeout: float = 5.0,
        tls: TLSFiles | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        try:
            import etcd3gw  # noqa: F401 - lazy: optional extra [etcd], only pools with an etcd registry need it
        except ModuleNotFoundError as exc:
            raise ConfigurationError("the etcd registry needs etcd3gw: pip install 'runner[etcd]'") from exc
        self.endpoints = parse_endpoints(endpoints)
        self.timeout = timeout
        self._tls = tls or TLSFiles()
        self._auth = (username, password) if username else None
        self._lock = threading.RLock()
        self._current = 0
        self._clients: dict[str, Any] = {}
        self._token: str | None = None

    @property
    def endpoint(self) -> str:
        """The endpoint used last (the one a message should name)."""
        return self.endpoints[self._current]

    # ------------------------------------------------------------ transport

    def _client(self, endpoint: str) -> Any:
        client = self._clients.get(endpoint)
        if client is None:
            import etcd3gw  # lazy: optional extra [etcd]
            import requests  # lazy: optional extra [etcd]

            scheme, _, hostport = endpoint.partition("://")
            host, _, port = hostport.rpartition(":")
            session = requests.Session()
            if self._tls.ca:
                session.verify = self._tls.ca
                # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify
                # unless the environment is ignored: the pool's CA must win.
                session.trust_env = False
            if self._tls.cert and self._tls.key:
                session.cert = (self._tls.cert, self._tls.key)
            client = etcd3gw.client(
                host=host.strip("[]"), port=int(port), protocol=scheme, timeout=self.timeout, session=session
            )
            self._clients[endpoint] = client
        return client

    def _unreachable(self, reasons: list[str]) -> InfrastructureError:
        tried = "; ".join(reasons)
        return InfrastructureError(f"etcd unreachable at {', '.join(self.endpoints)} ({tried})")

    def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``/v3/<path>`` on the first endpoint that answers."""
        from etcd3gw import exceptions as gw  # lazy: optional extra [etcd]

        reasons: list[str] = []
        with self._lock:
            order = [*range(self._current, len(self.endpoints)), *range(self._current)]
            for index in order:
                endpoint = self.endpoints[index]
                client = self._client(endpoint)
                try:
                    self._authenticate(client)
                    try:
                        result = client.post(client.get_url(path), json=payload)
                    except gw.Etcd3Exception as exc:
                        if self._auth and "auth token" in _detail(exc):
                            self._token = None  # expired: one fresh token, one retry
                            self._authenticate(client)
                            result = client.post(client.get_url(path), json=payload)
                        else:
                            raise
                    self._current = index
                    return dict(result)
                except (gw.ConnectionFailedError, gw.ConnectionTimeoutError) as exc:
                    kind = "timed out" if isinstance(exc, gw.ConnectionTimeoutError) else "connection failed"
                    reasons.append(f"{endpoint}: {kind}")
                except gw.Etcd3Exception as exc:
                    detail = _detail(exc)
                    if "lease not found" in detail:
                        raise LeaseNotFound(f"etcd at {endpoint}: {detail}") from exc
                    if any(
                        m in detail
                        for m in ("authentication failed", "permission denied", "user name is empty")
                    ):
                        raise ConfigurationError(
                            f"etcd at {endpoint} refused the credentials: {detail}"
                        ) from exc
                    raise InfrastructureError(f"etcd at {endpoint}: {detail}") from exc
            raise self._unreachable(reasons)

    def _authenticate(self, client: Any) -> None:
        if self._auth is None:
            return
        if self._token is None:
            name, password = self._auth
            result = client.post(
                client.get_url("/auth/authenticate"), json={"name": name, "password": password}
            )
            self._token = str(result["token"])
        client.session.headers["Authorization"] = self._token

    # ------------------------------------------------------------ kv and leases

    def range_prefix(self, prefix: str) -> tuple[int, list[tuple[str, bytes]]]:
        """Every key under ``prefix`` with its value, and the store revision they were read at."""
        result = self.call("/kv/range", {"key": _b64(prefix), "range_end": _range_end(prefix)})
        revision = int(result["header"]["revision"])
        kvs = [
            (base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")))
            for kv in result.get("kvs", [])
        ]
        return revision, kvs

    def put(self, key: str, value: str, lease: int = 0) -> None:
        """Write ``key``; attached to ``lease`` when non-zero (LeaseNotFound when it is gone)."""
        payload: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            payload["lease"] = lease
        self.call("/kv/put", payload)

    def delete(self, key: str) -> None:
        self.call("/kv/deleterange", {"key": _b64(key)})

    def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds; its id."""
        return int(self.call("/lease/grant", {"TTL": ttl, "ID": 0})["ID"])

    def keepalive(self, lease: int) -> int:
        """Refresh ``lease``; its TTL now, or 0 when the lease no longer exists."""
        result = self.call("/lease/keepalive", {"ID": lease})
        return max(0, int(result.get("result", {}).get("TTL", 0)))

    def revoke(self, lease: int) -> None:
        """End ``lease``: etcd deletes every key attached to it at once."""
        self.call("/kv/lease/revoke", {"ID": lease})

    # ------------------------------------------------------------ watch

    def watch_prefix(
        self,
        prefix: str,
        start_revision: int,
        *,
        idle_timeout: float = 30.0,
        on_stream: Callable[[Callable[[], None]], None] | None = None,
    ) -> Iterator[WatchEvent]:
        """Events under ``prefix`` from ``start_revision`` on, until the stream ends.

        The stream ends (the iterator returns) when etcd closes it, cancels the watch (for
        example because the revision was compacted) or sends nothing for ``idle_timeout``
        seconds; the caller then re-lists and watches again. ``on_stream`` receives a
        function that aborts the stream from another thread (for ``close()``).
        Unreachable etcd → InfrastructureError.
        """
        import requests  # lazy: optional extra [etcd]
        from etcd3gw import exceptions as gw  # lazy: optional extra [etcd]

        endpoint = self.endpoint  # the one that answered last (the caller has just listed)
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _range_end(prefix),
                "start_revision": start_revision,
            }
        }
        try:
            with self._lock:
                client = self._client(endpoint)
                self._authenticate(client)
                url = client.get_url("/watch")
            resp = client.session.post(url, json=body, stream=True, timeout=(self.timeout, idle_timeout))
        except (requests.RequestException, gw.Etcd3Exception) as exc:
            raise self._unreachable([f"{endpoint}: watch failed ({type(exc).__name__})"]) from exc
        if on_stream is not None:
            on_stream(lambda: _abort(resp))
        try:
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                result = json.loads(line).get("result", {})
                if result.get("canceled") or "error" in result:
                    log.info("etcd watch on %s ended by the server: %s", prefix, result)
                    return
                for ev in result.get("events", []):
                    kv = ev["kv"]
                    yield WatchEvent(
                        kind="delete" if ev.get("type") == "DELETE" else "put",
                        key=base64.b64decode(kv["key"]).decode(),
                        value=base64.b64decode(kv.get("value", "")),
                        revision=int(kv.get("mod_revision", 0)),
                    )
        except (requests.RequestException, OSError, ValueError) as exc:
            # A dead server, an idle stream or our own abort: all mean "watch again".
            log.info("etcd watch on %s at %s ended: %s", prefix, self.endpoint, type(exc).__name__)
        finally:
            resp.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.session.close()
        self._clients.clear()


def _abort(resp: Any) -> None:
    """Wake a thread blocked reading ``resp``: shut its socket down (close alone does not)."""
    try:
        sock = socket.fromfd(resp.raw._fp.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except (OSError, AttributeError, ValueError):
        pass
