"""TLS for waitress: a channel that runs the handshake and TLS records without blocking.

waitress serves plain sockets only. Its event loop calls ``handle_read`` / ``handle_write`` when
the socket is ready; this channel wraps the accepted socket (``do_handshake_on_connect=False``),
drives the handshake from those calls, and maps OpenSSL's "want read / want write" to "nothing
now" instead of an error. A client that stalls in the handshake is closed by the server's idle
timeout like any other silent connection.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

from waitress.channel import HTTPChannel

_WANT = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _TlsChannel(HTTPChannel):
    context: ssl.SSLContext  # set by tls_channel()

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:  # noqa: A002
        self._handshaken = False
        self._want_write = False
        sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        super().__init__(server, sock, addr, adj, map)

    def _handshake(self) -> bool:
        try:
            self.socket.do_handshake()
        except ssl.SSLWantReadError:
            self._want_write = False
            return False
        except ssl.SSLWantWriteError:
            self._want_write = True
            return False
        except OSError:  # not TLS, or a certificate the client refused
            self.handle_close()
            return False
        self._handshaken = self.connected = True
        self._want_write = False
        return True

    def readable(self) -> bool:
        return super().readable() if self._handshaken else not self.will_close

    def writable(self) -> bool:
        return bool(super().writable()) if self._handshaken else (self._want_write or self.will_close)

    def handle_read(self) -> None:
        if not self._handshaken and not self._handshake():
            return
        while True:  # decrypted bytes left in OpenSSL's buffer are invisible to poll(): take them all
            try:
                data = self.socket.recv(self.adj.recv_bytes)
            except _WANT:
                return
            except OSError:
                self.handle_close()
                return
            if not data:
                self.connected = False  # the client closed (as HTTPChannel.handle_read does)
                return
            self.last_activity = time.time()
            self.received(data)
            if not self.socket.pending():
                return

    def handle_write(self) -> None:
        if self._handshaken:
            return super().handle_write()
        if self.will_close:
            return self.handle_close()
        self._handshake()
        return None

    def send(self, data: bytes, do_close: bool = True) -> int:
        try:
            return int(super().send(data, do_close))
        except _WANT:
            return 0
        except ssl.SSLError:
            if do_close:
                self.handle_close()
            return 0


def tls_channel(context: ssl.SSLContext) -> type[HTTPChannel]:
    """A waitress channel class that speaks TLS with ``context``."""
    return type("TlsChannel", (_TlsChannel,), {"context": context})
