"""``access: port-forward``: a local TCP listener relaying each connection into the pod.

Each accepted connection opens its own stream with ``open_stream()`` (in the runtime: the
official client's ``kubernetes.stream.portforward`` over the API server's
``pods/portforward`` subresource, WebSocket; no ``kubectl`` needed) and bytes are copied both
ways by two threads until either side closes. The listener is on 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

Stream = Any  # socket-like: sendall, recv, close (the client's portforward socket is one)


def _pump(src: Any, dst: Any, done: threading.Event) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        done.set()
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass


class PortForward:
    """Listens on ``127.0.0.1:<free port>``; ``close()`` stops it and every relay."""

    def __init__(self, open_stream: Callable[[], Stream]) -> None:
        self._open = open_stream
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._open_conns: set[Any] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"port-forward:{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            remote = self._open()
        except Exception:  # noqa: BLE001 - the client sees a closed connection: INFRASTRUCTURE
            conn.close()
            return
        with self._lock:
            self._open_conns.update((conn, remote))
        done = threading.Event()
        threading.Thread(target=_pump, args=(remote, conn, done), daemon=True).start()
        _pump(conn, remote, done)
        for s in (conn, remote):
            try:
                s.close()
            except OSError:
                pass
        with self._lock:
            self._open_conns.difference_update((conn, remote))

    def close(self) -> None:
        self._closed.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._open_conns)
        for s in conns:
            try:
                s.close()
            except OSError:
                pass


def client_stream(api: Any, pod: str, port: int) -> Callable[[], Stream]:
    """``open_stream`` for a pod through the official client's port-forward (one per connection)."""
    from kubernetes.stream import portforward  # lazy: optional extra [kubernetes]

    def open_stream() -> Stream:
        pf = portforward(api.core.connect_get_namespaced_pod_portforward, pod, api.ns, ports=str(port))
        return pf.socket(port)

    return open_stream
