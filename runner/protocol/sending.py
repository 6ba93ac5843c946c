"""The caller's side of a workspace task on a remote agent (protocol version 3).

Before the call: the attempt's checkout (``TaskRequest.workspace``, a path on this machine) is
packed into ``TaskRequest.archive`` (an anonymous temporary file the transport streams and
``RemoteHandle.execute`` closes) — refused early when the server speaks an older protocol or
the workspace is over the transfer cap (either side's). After it: the server's change is checked
and applied to that checkout, where the executor captures it as if the agent had worked there.

Failure kinds: an older server, a workspace over the cap: ``config`` (retrying cannot help); a
reply without a change, over the cap, or that does not apply: ``parse``; a change that writes
into ``.git``, outside the checkout or through a symlink: ``denied`` (nothing is written).
"""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from runner.agents.model import TaskRequest, TaskResult
from runner.errors import FailureKind, WorkspaceError
from runner.protocol.wire import WORKSPACE_VERSION
from runner.workspace.git import toplevel
from runner.workspace.transfer import TransferError, apply, limit_from_env, mib, pack

if TYPE_CHECKING:
    from runner.protocol.client import RemoteHandle


def outgoing(handle: RemoteHandle, request: TaskRequest) -> tuple[TaskRequest, Path | None]:
    """The request to send (with its ``archive``) and the checkout's root; unchanged (root None)
    when it has no workspace or the handle passes paths (the docker runtime's mount)."""
    if not request.workspace or not handle.sends_workspace:
        return request, None

    version = handle.server_version
    if not version.isdigit() or int(version) < WORKSPACE_VERSION:
        raise handle.failure(FailureKind.CONFIG, f"the agent server speaks protocol {version or '1'}; a task in a "
                             f"workspace needs protocol {WORKSPACE_VERSION} (upgrade runner where the agent is served)")
    cwd = Path(request.workspace)
    root = toplevel(cwd)
    if root is None:
        raise handle.failure(FailureKind.INFRASTRUCTURE, f"workspace {cwd} is not a checkout runner made")
    limit = min(limit_from_env(), handle.server_max_workspace or limit_from_env())
    try:
        archive = pack(root, cwd, limit)
    except TransferError as exc:
        raise handle.failure(FailureKind.CONFIG, f"workspace: {exc} (the server's --max-workspace, the "
                             "caller's RUNNER_WORKSPACE_TRANSFER_MAX)") from exc
    except WorkspaceError as exc:
        raise handle.failure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}") from exc
    return replace(request, workspace=None, archive=archive), root


def incoming(handle: RemoteHandle, root: Path, result: TaskResult) -> TaskResult:
    """Apply the reply's change to the checkout at ``root`` (see the module docstring)."""
    patch = result.patch
    if patch is None:
        raise handle.malformed("the reply to a task with a workspace has no `change`")
    limit = limit_from_env()
    if len(patch) > limit:
        raise handle.malformed(f"the change is {mib(len(patch))}, over the transfer cap of {mib(limit)}")
    if patch.strip() and not root.stat().st_mode & stat.S_IWUSR:
        raise handle.failure(FailureKind.DENIED, "the agent changed files in a readonly workspace")
    try:
        apply(root, patch)
    except TransferError as exc:
        if str(exc).startswith("refused:"):
            raise handle.failure(FailureKind.DENIED, f"its change was {exc}") from exc
        raise handle.malformed(str(exc)) from exc
    except WorkspaceError as exc:
        raise handle.failure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}") from exc
    return result
