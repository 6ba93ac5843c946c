"""A real etcd for tests: its own free loopback ports, its own temp data dir.

::

    with EtcdServer(tmp_path) as etcd:          # started and healthy
        regs = register_agents(etcd.url, [("a1", "http://127.0.0.1:9001", ["review"])])
        ...                                     # a pool with {type: etcd, endpoints: [etcd.url]}
        etcd.kill(); etcd.start()               # same port, same data: a restart

    with served_agent(etcd.url, "s1", ["review"]) as server:   # `runner agent serve --register`
        server.urls["http"]; server.proc.send_signal(signal.SIGKILL)

Install etcd with ``.ci/setup-etcd.sh``; a missing binary fails the test (never skips).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.registries.etcd import EtcdRegistry
from runner.registries.etcd_client import DEFAULT_PREFIX, EtcdClient, TLSFiles
from runner.registries.etcd_registration import EtcdRegistration
from runner.spec.models import Pool, RegistryConfig
from tests.helpers.polling import poll as wait_for


def etcd_binary() -> str:
    """Path of the etcd server binary; fails the test with the fix when it is missing."""
    path = os.environ.get("RUNNER_ETCD_BIN") or shutil.which("etcd") or "/usr/bin/etcd"
    if not os.access(path, os.X_OK):
        pytest.fail("etcd is not installed: run .ci/setup-etcd.sh (apt-get install etcd-server)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EtcdServer:
    """One single-member etcd on 127.0.0.1; ``kill()`` + ``start()`` is a restart on the same port."""

    def __init__(self, workdir: Path, name: str = "t1", tls: TLSFiles | None = None) -> None:
        """``tls``: serve https with ``cert``/``key`` and require client certificates signed by ``ca``."""
        self.name = name
        self.tls = tls
        self.data_dir = workdir / f"etcd-{name}"
        self.log_path = workdir / f"etcd-{name}.log"
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 15.0) -> EtcdServer:
        """Start (or restart) the server and wait until it reports healthy."""
        peer = f"http://127.0.0.1:{self.peer_port}"
        cmd = [
            etcd_binary(),
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url,
            "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}",
        ]  # fmt: skip
        if self.tls:
            cmd += ["--cert-file", str(self.tls.cert), "--key-file", str(self.tls.key),
                    "--client-cert-auth", "--trusted-ca-file", str(self.tls.ca)]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}; see {self.log_path}")
            if self.healthy():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"etcd not healthy after {timeout}s; see {self.log_path}")

    def healthy(self) -> bool:
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.tls.ca)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1, context=context) as resp:
                return b'"true"' in resp.read()
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would; data stays for a restart."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def agent_info(agent_id: str, endpoint: str, capabilities: Sequence[str] = (), **extra: object) -> AgentInfo:
    """An AgentInfo as an agent server would publish it."""
    return AgentInfo(
        id=agent_id,
        name=str(extra.pop("name", agent_id)),
        type=str(extra.pop("type", "command")),
        capabilities=tuple(capabilities),
        expertise=dict(extra.pop("expertise", {})),  # type: ignore[call-overload]
        endpoint=endpoint,
        metadata=dict(extra),
        source="etcd",
    )


def make_registry(
    url: str, prefix: str, environ: dict[str, str] | None = None, **options: object
) -> EtcdRegistry:
    """An etcd registry as a pool would configure it (credentials come from ``environ``)."""
    opts = {"endpoints": [url], "prefix": prefix, "timeout": "2s", **options}
    pool = Pool(name="p", registries=(RegistryConfig(type="etcd", options=opts),))
    return EtcdRegistry(RunContext(environ=environ or {}), pool, opts)


def register_agents(
    etcd_url: str,
    agents: Iterable[tuple[str, str, Sequence[str]]],
    prefix: str = DEFAULT_PREFIX,
    ttl: int = 10,
) -> list[EtcdRegistration]:
    """Register ``(id, endpoint, capabilities)`` agents; call ``stop()`` on each when done."""
    return [
        EtcdRegistration(etcd_url, prefix, agent_info(i, endpoint, caps), ttl=ttl).start()
        for i, endpoint, caps in agents
    ]


ANSWER_JSON = Path(__file__).parent / "programs" / "answer_json.py"  # answers `echo: <task>`
REPO = Path(__file__).parents[2]


class ServedAgent:
    """A ``runner agent serve --register`` subprocess; ``urls`` from its ``listening`` line."""

    def __init__(self, proc: subprocess.Popen[str], urls: dict[str, str]) -> None:
        self.proc = proc
        self.urls = urls


@contextmanager
def served_agent(
    etcd_url: str,
    agent_id: str,
    capabilities: Sequence[str] = (),
    *,
    prefix: str = DEFAULT_PREFIX,
    ttl: int = 10,
    program: Sequence[str] = (sys.executable, str(ANSWER_JSON)),
    extra: Sequence[str] = (),
    wait_healthy: bool = True,
) -> Iterator[ServedAgent]:
    """An agent server registered in etcd, killed (SIGKILL) at the end if still running.

    With ``wait_healthy`` it returns once the server has published itself healthy (its agent
    is ready): registries leave unhealthy agents out, so a run started earlier might miss it.
    """
    cmd = [sys.executable, "-m", "runner", "agent", "serve", "--id", agent_id, "--http", "127.0.0.1:0",
           "--register", etcd_url, "--register-prefix", prefix, "--register-ttl", str(ttl),
           *(f"--capability={c}" for c in capabilities), *extra, "--", *program]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "RUNNER_AGENT_TOKEN"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30.0)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening "):
            proc.kill()
            pytest.fail(f"agent server did not start: {line!r} {proc.stderr.read()}")
        if wait_healthy:
            client = EtcdClient(etcd_url)
            wait_for(
                lambda: _published_healthy(client, prefix + agent_id), timeout=20, what=f"{agent_id} healthy"
            )
            client.close()
        yield ServedAgent(proc, dict(part.split("=", 1) for part in line.split()[1:]))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def _published_healthy(client: EtcdClient, key: str) -> bool:
    _, kvs = client.range_prefix(key)
    return any(k == key and json.loads(v)["status"]["healthy"] for k, v in kvs)


def make_certificates(folder: Path) -> tuple[TLSFiles, TLSFiles]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA:
    ``(server, client)`` as TLSFiles (each with the CA as ``ca``)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def issue(cn: str, issuer_key, issuer_name, *, ca: bool = False, server: bool = False):  # type: ignore[no-untyped-def]
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (
            x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )  # fmt: skip
        if not ca:
            # etcd's own HTTP gateway dials etcd with the server certificate: it needs both usages.
            usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if server:
            import ipaddress

            san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(issuer_key or key, hashes.SHA256())
        cert_path, key_path = folder / f"{cn}.pem", folder / f"{cn}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
        return key, name, str(cert_path), str(key_path)

    ca_key, ca_name, ca_cert, _ = issue("ca", None, None, ca=True)
    _, _, server_cert, server_key = issue("server", ca_key, ca_name, server=True)
    _, _, client_cert, client_key = issue("client", ca_key, ca_name)
    return TLSFiles(ca=ca_cert, cert=server_cert, key=server_key), TLSFiles(
        ca=ca_cert, cert=client_cert, key=client_key
    )
