"""What a runner agent container runs: ``python -m runner.docker.entry``.

The docker runtime passes the whole agent definition as JSON in ``RUNNER_AGENT_DEFINITION``
(the ``runner agent serve`` options cannot say everything a pool can: login/done patterns,
options, env), the agent id in ``RUNNER_AGENT_ID``, the port in ``RUNNER_AGENT_PORT``, the
bearer token in ``RUNNER_AGENT_TOKEN`` (gRPC too on ``RUNNER_AGENT_GRPC_PORT`` when set) and credentials as plain variables (both from a 0600
env-file, never on a command line). ``RUNNER_AGENT_LIFETIME`` (seconds) ends the server after
that long even if the runner that started it died: ``resources.timeout`` is enforced inside.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from runner.spec.models import AgentDef, Resources

DEFINITION_ENV = "RUNNER_AGENT_DEFINITION"
LIFETIME_ENV = "RUNNER_AGENT_LIFETIME"
CONTAINER_PORT = 8080
GRPC_PORT_ENV = "RUNNER_AGENT_GRPC_PORT"  # set (by the runtime's `protocol: grpc`): serve gRPC too
CONTAINER_GRPC_PORT = 8081


def definition_to_json(d: AgentDef, credential_names: list[str], workdir: str) -> str:
    """The definition as the container sees it: credentials by their in-container names."""
    return json.dumps({
        "type": d.type, "command": list(d.command), "mode": d.mode, "input": d.input,
        "ready_pattern": d.ready_pattern, "login_pattern": d.login_pattern, "done_pattern": d.done_pattern,
        "workdir": workdir, "env": dict(d.env), "credentials": {n: n for n in credential_names},
        "capabilities": list(d.capabilities), "confidence": d.confidence, "options": dict(d.options),
        "resources": {"timeout": d.resources.timeout, "idle_timeout": d.resources.idle_timeout},
    }, default=str)


def definition_from_json(text: str) -> AgentDef:
    raw: dict[str, Any] = json.loads(text)
    res = raw.pop("resources", {}) or {}
    for key in ("command", "capabilities"):
        raw[key] = tuple(raw.get(key) or ())
    return AgentDef(**raw, resources=Resources(**res))


def main(environ: Mapping[str, str] = os.environ) -> int:
    from runner.cli import run_command
    from runner.protocol.serve import ServeOptions, serve

    definition = definition_from_json(environ[DEFINITION_ENV])
    port = int(environ.get("RUNNER_AGENT_PORT", CONTAINER_PORT))
    agent_id = environ.get("RUNNER_AGENT_ID", "agent")
    grpc_port = environ.get(GRPC_PORT_ENV)
    opts = ServeOptions(definition=definition, agent_id=agent_id, name=agent_id, http=f"0.0.0.0:{port}",
                        grpc=f"0.0.0.0:{grpc_port}" if grpc_port else None,
                        drain_timeout=float(environ.get("RUNNER_AGENT_DRAIN", "5")))
    stop = threading.Event()
    lifetime = environ.get(LIFETIME_ENV)
    if lifetime:
        timer = threading.Timer(float(lifetime), stop.set)
        timer.daemon = True
        timer.start()
    run_command(serve, opts, dict(environ), sys.stdout, stop)
    return 0  # not reached: run_command exits


if __name__ == "__main__":
    main()
