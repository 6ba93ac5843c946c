"""An agent registers itself in etcd and keeps its registration alive.

::

    reg = EtcdRegistration("etcd://127.0.0.1:2379", "/runner/agents/", info, ttl=10)
    reg.start()                    # lease granted, <prefix><id> written with it
    reg.set_health(False, "busy")  # same key, same lease, new value
    reg.stop()                     # lease revoked: the key is gone at once

A daemon thread refreshes the lease every ``ttl / 3`` seconds. If the agent dies, nobody
refreshes it and etcd deletes the key when the TTL runs out. If the lease is lost (etcd lost
its data, or the agent was cut off longer than the TTL) the thread grants a new lease and
writes the key again; while etcd is unreachable it keeps trying, every ``retry`` seconds.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence

from runner.agents.model import AgentInfo
from runner.errors import InfrastructureError
from runner.registries.etcd_client import DEFAULT_PREFIX, EtcdClient, LeaseNotFound, TLSFiles
from runner.registries.etcd_record import record_for

log = logging.getLogger(__name__)


class EtcdRegistration:
    """One agent's key under ``prefix``, bound to a lease this object keeps alive."""

    retry = 0.5  # seconds between attempts while etcd is unreachable

    def __init__(
        self,
        endpoints: str | Sequence[str],
        prefix: str = DEFAULT_PREFIX,
        info: AgentInfo | None = None,
        ttl: int = 10,
        *,
        timeout: float = 5.0,
        tls: TLSFiles | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if info is None or not info.endpoint:
            raise ValueError("EtcdRegistration needs an AgentInfo with an endpoint")
        if ttl < 1:
            raise ValueError("ttl must be at least 1 second")
        self.info = info
        self.key = prefix + info.id
        self.ttl = int(ttl)
        # A request must not outlive a refresh interval, or one slow call could cost the lease.
        self.client = EtcdClient(
            endpoints,
            timeout=min(timeout, max(self.ttl / 3, 0.5)),
            tls=tls,
            username=username,
            password=password,
        )
        self.lease = 0  # current lease id; 0 when none
        self.healthy = True
        self.message = ""
        self._lock = threading.Lock()  # one writer of (lease, value) at a time
        self._dirty = False  # the value etcd holds is not our latest one
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ public

    def start(self) -> EtcdRegistration:
        """Grant a lease and write the key; InfrastructureError when etcd cannot be reached."""
        with self._lock:
            self._register()
        self._stop.clear()
        self._thread = threading.Thread(target=self._keep_alive, name=f"etcd-lease {self.key}", daemon=True)
        self._thread.start()
        return self

    def set_health(self, healthy: bool, message: str = "") -> None:
        """Publish new health in place (same key, same lease). Never raises: a failed write
        is retried by the keep-alive thread, so an etcd hiccup cannot take the agent down."""
        with self._lock:
            if (healthy, message) == (self.healthy, self.message) and not self._dirty:
                return
            self.healthy, self.message = healthy, message
            if not self.lease:  # not started, or stopped: never write a key without a lease
                self._dirty = True
                return
            try:
                self._put()
            except InfrastructureError as exc:
                self._dirty = True
                log.warning("could not publish health of %s: %s", self.info.id, exc)

    def stop(self) -> None:
        """Stop refreshing and revoke the lease, which deletes the key at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout + 1)
        with self._lock:
            lease, self.lease = self.lease, 0
        if lease:
            try:
                self.client.revoke(lease)
            except InfrastructureError as exc:  # the key still goes, when its TTL runs out
                log.warning("could not revoke lease of %s: %s", self.info.id, exc)
        self.client.close()

    def __enter__(self) -> EtcdRegistration:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ internals

    def _value(self) -> str:
        return json.dumps(record_for(self.info, healthy=self.healthy, message=self.message), default=str)

    def _register(self) -> None:
        """A new lease and the key written under it (caller holds the lock)."""
        self.lease = self.client.grant(self.ttl)
        self._put()
        log.info(
            "registered %s at %s (lease %x, ttl %ss)", self.key, self.client.endpoint, self.lease, self.ttl
        )

    def _put(self) -> None:
        self.client.put(self.key, self._value(), lease=self.lease)
        self._dirty = False

    def _refresh(self) -> None:
        """One keep-alive round: refresh, or re-register when the lease is gone."""
        with self._lock:
            if self._stop.is_set():
                return
            try:
                alive = self.lease and self.client.keepalive(self.lease) > 0
                if alive and self._dirty:
                    self._put()
            except LeaseNotFound:
                alive = False
            if not alive:
                log.warning("lease of %s lost; registering again", self.key)
                self._register()

    def _keep_alive(self) -> None:
        interval = self.ttl / 3
        while not self._stop.wait(interval):
            try:
                self._refresh()
                interval = self.ttl / 3
            except InfrastructureError as exc:
                # Unreachable: keep trying; once etcd is back the lease is refreshed, or
                # (when it expired meanwhile) a new one is granted and the key re-written.
                log.warning("keeping %s registered: %s", self.key, exc)
                interval = min(self.retry, self.ttl / 3)
