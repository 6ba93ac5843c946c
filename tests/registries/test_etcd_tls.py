"""An etcd that serves https and requires client certificates: the `tls` options."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import InfrastructureError
from runner.registries.etcd_registration import EtcdRegistration
from tests.helpers.etcd import EtcdServer, agent_info, make_certificates, make_registry

pytestmark = pytest.mark.etcd


def test_tls_with_client_certificates(tmp_path: Path, prefix: str) -> None:
    server_tls, client_tls = make_certificates(tmp_path)
    with EtcdServer(tmp_path, name="tls", tls=server_tls) as etcd:
        assert etcd.url.startswith("https://")
        reg = EtcdRegistration(
            etcd.url, prefix, agent_info("t1", "https://h:1"), ttl=5, tls=client_tls
        ).start()
        tls = {"ca": client_tls.ca, "cert": client_tls.cert, "key": client_tls.key}
        registry = make_registry(etcd.url, prefix, tls=tls)
        try:
            assert [a.id for a in registry.agents()] == ["t1"]
        finally:
            registry.close()
            reg.stop()
        # Without a client certificate the handshake is refused: an infrastructure error naming etcd.
        no_cert = make_registry(etcd.url, prefix, tls={"ca": client_tls.ca})
        with pytest.raises(InfrastructureError, match=f"etcd unreachable at {etcd.url}"):
            no_cert.agents()
