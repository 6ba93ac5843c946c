"""An etcd with authentication on: user/password from the environment, refusals are config errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.errors import ConfigurationError
from runner.registries.etcd_registration import EtcdRegistration
from tests.helpers.etcd import EtcdServer, agent_info, make_registry

pytestmark = pytest.mark.etcd


def enable_auth(etcd: EtcdServer, password: str) -> None:
    for args in (["user", "add", f"root:{password}"], ["role", "add", "root"],
                 ["user", "grant-role", "root", "root"], ["auth", "enable"]):  # fmt: skip
        subprocess.run(["etcdctl", "--endpoints", etcd.url, *args], check=True, capture_output=True,
                       env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}, timeout=30)  # fmt: skip


def test_user_and_password(tmp_path: Path, prefix: str) -> None:
    with EtcdServer(tmp_path, name="auth") as etcd:
        enable_auth(etcd, "s3cret")
        info = agent_info("au1", "http://h:1", ["x"])
        reg = EtcdRegistration(etcd.url, prefix, info, ttl=5, username="root", password="s3cret").start()
        good = make_registry(
            etcd.url, prefix, username="root", passwordEnv="ETCD_PW", environ={"ETCD_PW": "s3cret"}
        )
        try:
            assert [a.id for a in good.agents()] == ["au1"]
            # An expired token (etcd's simple tokens live 5 min) is renewed once, transparently.
            reg.client._token = "expired.token"
            reg.set_health(False, "after token expiry")
            assert reg.client._token != "expired.token"
            assert [a.id for a in good.all_agents()] == ["au1"]
        finally:
            good.close()
            reg.stop()
        bad = make_registry(
            etcd.url, prefix, username="root", passwordEnv="ETCD_PW", environ={"ETCD_PW": "nope"}
        )
        with pytest.raises(ConfigurationError, match="refused the credentials") as refused:
            bad.agents()
        assert "nope" not in str(refused.value)
        anonymous = make_registry(etcd.url, prefix)
        with pytest.raises(ConfigurationError, match="user name is empty"):
            anonymous.agents()
