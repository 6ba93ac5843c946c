"""Which docker client binary runner uses, and a python-on-whales client for it.

Two clients may exist on a machine (here: Debian's ``/usr/bin/docker`` matching the daemon and
a newer ``/usr/local/bin/docker`` first on PATH); runner picks, in order: the runtime option
``client``, ``$RUNNER_DOCKER_CLIENT``, ``/usr/bin/docker``, ``docker`` on PATH.
python_on_whales is imported lazily (heavy: pydantic models).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from runner.errors import ConfigurationError, InfrastructureError

SETUP_HINT = "run `bash .ci/setup-docker.sh` to install and start the Docker engine"


def client_path(options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The docker client binary to call."""
    environ = os.environ if environ is None else environ
    chosen = (options or {}).get("client") or environ.get("RUNNER_DOCKER_CLIENT")
    if chosen:
        return str(chosen)
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"


def engine_problem(client: str, timeout: float = 10.0) -> str | None:
    """None when the engine answers through ``client``; else why not (one line, with the fix)."""
    try:
        proc = subprocess.run([client, "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return f"docker client `{client}` not found; {SETUP_HINT}"
    except subprocess.TimeoutExpired:
        return f"docker engine did not answer within {timeout:.0f}s; {SETUP_HINT}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"docker engine not reachable through `{client}`: {last}; {SETUP_HINT}"
    return None


def whales(client: str) -> Any:
    """A ``python_on_whales.DockerClient`` calling ``client``."""
    try:
        from python_on_whales import DockerClient  # lazy: optional extra [docker]
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        # a missing extra is the pool's configuration (exit 2), as for every other plug-in
        raise ConfigurationError("runtime `docker` needs the Python package `python_on_whales`: "
                                 "pip install 'runner[docker]'") from exc
    return DockerClient(client_call=[client])


def require_engine(client: str) -> None:
    problem = engine_problem(client)
    if problem:
        raise InfrastructureError(problem)


def one_line(exc: BaseException) -> str:
    """The last meaningful line: python-on-whales puts docker's own message in ``stderr``."""
    text = str(getattr(exc, "stderr", None) or exc)
    lines = [line.strip() for line in text.splitlines()
             if line.strip().strip("'\"") and not line.startswith("See '")]
    return lines[-1] if lines else type(exc).__name__
