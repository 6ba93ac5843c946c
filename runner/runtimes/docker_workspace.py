"""A docker agent's task in a workspace: the attempt's checkout, as the container sees it.

The docker runtime bind-mounts the run's workspaces (``<run dir>/workspaces``) read-write at
``/workspace`` in every container it starts (a container lives for the whole run, a workspace
for one attempt). A task whose ``TaskRequest.workspace`` is a checkout there goes to the
container's server with the path inside (the protocol's optional ``workspace`` field; the
server takes only paths under its ``RUNNER_AGENT_WORKSPACES``) and runs there.

The container's user (``agent``, uid 10001) is not the invoking user: before the task the
attempt's checkout is ``chown -R``-ed to the container's user, so it can write, and after it
(whatever happened) back to the invoking user's uid:gid, so the invoking user owns every file
again, the agent's new ones too. Both by ``docker exec -u root`` in the agent's container:
neither side has to be root on the host, and the agent itself stays non-root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runner.agents.model import TaskRequest
from runner.docker.client import one_line
from runner.docker.entry import CONTAINER_WORKSPACES
from runner.errors import AgentFailure, FailureKind

if TYPE_CHECKING:
    from runner.runtimes.docker import DockerRuntime

CHECKOUT_DEPTH = 2  # <run dir>/workspaces/<step>/<agent>[-<item>]-<attempt>: the cwd may be deeper


@contextmanager
def in_container(runtime: DockerRuntime, cid: str, request: TaskRequest, agent_id: str) -> Iterator[TaskRequest]:
    """The request as the container sees it, its checkout the container user's while it runs."""
    if not request.workspace:
        yield request
        return
    if runtime.protocol != "http":
        raise AgentFailure(FailureKind.CONFIG, "workspaces reach docker agents over `protocol: http` only "
                           "(the gRPC request has no workspace field)", agent_id=agent_id)
    root = runtime.workspaces_root()
    try:
        rel = Path(request.workspace).resolve().relative_to(root)
    except ValueError:
        raise AgentFailure(FailureKind.CONFIG, f"workspace {request.workspace} is not under the run's "
                           f"workspaces ({root}): the container cannot see it", agent_id=agent_id) from None
    if len(rel.parts) < CHECKOUT_DEPTH:
        raise AgentFailure(FailureKind.CONFIG, f"workspace {request.workspace} is not an attempt's checkout",
                           agent_id=agent_id)
    checkout = str(PurePosixPath(CONTAINER_WORKSPACES, *rel.parts[:CHECKOUT_DEPTH]))
    _chown(runtime, cid, runtime.container_user(), checkout, agent_id)
    try:
        yield replace(request, workspace=str(PurePosixPath(CONTAINER_WORKSPACES, *rel.parts)))
    finally:
        _chown(runtime, cid, f"{os.getuid()}:{os.getgid()}", checkout, agent_id)


def _chown(runtime: DockerRuntime, cid: str, owner: str, path: str, agent_id: str) -> None:
    try:
        runtime.chown(cid, owner, path)
    except Exception as exc:  # noqa: BLE001 - translated at the adapter edge

        raise AgentFailure(FailureKind.INFRASTRUCTURE, f"workspace {path}: chown to {owner} in the container "
                           f"failed: {one_line(exc)}", agent_id=agent_id) from exc
