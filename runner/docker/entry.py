"""What a runner agent container runs: ``python -m runner.docker.entry``.

The docker runtime passes the whole agent definition as JSON in ``RUNNER_AGENT_DEFINITION``
(in a pool file's words: ``runner.spec.agentdef``), the agent id in ``RUNNER_AGENT_ID``, the port in ``RUNNER_AGENT_PORT``, the
bearer token in ``RUNNER_AGENT_TOKEN``, the run's workspaces' mount in ``RUNNER_AGENT_WORKSPACES``
(a task's ``workspace`` must be under it; gRPC too on ``RUNNER_AGENT_GRPC_PORT`` when set) and credentials as plain variables (both from a 0600
env-file, never on a command line). ``RUNNER_AGENT_LIFETIME`` (seconds) ends the server after
that long even if the runner that started it died: ``resources.timeout`` is enforced inside.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace

from runner.cli import run_command
from runner.errors import Diagnostic, SpecError
from runner.protocol.serve import ServeOptions, serve
from runner.spec.agentdef import DEFINITION_ENV, agentdef_from_data, agentdef_to_data
from runner.spec.models import AgentDef

LIFETIME_ENV = "RUNNER_AGENT_LIFETIME"
CONTAINER_PORT = 8080
GRPC_PORT_ENV = "RUNNER_AGENT_GRPC_PORT"  # set (by the runtime's `protocol: grpc`): serve gRPC too
CONTAINER_GRPC_PORT = 8081
WORKSPACES_ENV = "RUNNER_AGENT_WORKSPACES"  # where the run's workspaces are mounted: tasks may work there
CONTAINER_WORKSPACES = "/workspace"


def definition_to_json(d: AgentDef, credential_names: list[str], workdir: str) -> str:
    """The definition as the container sees it: its ``workdir``, credentials by their in-container
    names (the values arrive as variables of those names)."""
    seen = replace(d, workdir=workdir, credentials={n: n for n in credential_names})
    return json.dumps(agentdef_to_data(seen), default=str)


def definition_from_json(text: str) -> AgentDef:
    """The definition ``definition_to_json`` wrote; SpecError when ``text`` is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError([Diagnostic(file=DEFINITION_ENV, line=exc.lineno, col=exc.colno, path="$",
                                    message=f"invalid JSON: {exc.msg}")]) from exc
    return agentdef_from_data(data, source=DEFINITION_ENV)


def serve_from_env(environ: dict[str, str]) -> int:
    """Serve the agent the container's environment describes; returns the exit code."""
    definition = definition_from_json(environ[DEFINITION_ENV])
    port = int(environ.get("RUNNER_AGENT_PORT", CONTAINER_PORT))
    agent_id = environ.get("RUNNER_AGENT_ID", "agent")
    grpc_port = environ.get(GRPC_PORT_ENV)
    opts = ServeOptions(definition=definition, agent_id=agent_id, name=agent_id, http=f"0.0.0.0:{port}",
                        grpc=f"0.0.0.0:{grpc_port}" if grpc_port else None,
                        drain_timeout=float(environ.get("RUNNER_AGENT_DRAIN", "5")),
                        workspaces=environ.get(WORKSPACES_ENV) or None)
    stop = threading.Event()
    lifetime = environ.get(LIFETIME_ENV)
    if lifetime:
        timer = threading.Timer(float(lifetime), stop.set)
        timer.daemon = True
        timer.start()
    return serve(opts, environ, sys.stdout, stop)


def main(environ: Mapping[str, str] = os.environ) -> int:
    run_command(serve_from_env, dict(environ))  # a bad definition: one line, exit 2
    return 0  # not reached: run_command exits


if __name__ == "__main__":
    main()
