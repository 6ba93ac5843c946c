"""The server's side of a workspace sent with a task (protocol version 2): unpack it into a
temporary directory, run the agent there, answer with its change, remove the directory.

``runner.workspace.transfer`` checks the archive (size, hostile entries) before anything is
written; a refused archive fails the task with kind ``config`` (sending it again cannot help).
"""

from __future__ import annotations

from dataclasses import replace

from runner.agents.handle import AgentHandle, OutputCallback
from runner.agents.model import TaskRequest, TaskResult
from runner.errors import AgentFailure, FailureKind, WorkspaceError
from runner.workspace.capture import capture
from runner.workspace.transfer import TransferError, mib, received


def run_received(handle: AgentHandle, request: TaskRequest, on_output: OutputCallback, limit: int) -> TaskResult:
    """Run ``request`` (which carries an ``archive``) in a checkout of it; the result carries the patch."""
    assert request.archive is not None
    d = handle.info.definition
    if d is not None and d.mode == "long-lived":
        raise AgentFailure(FailureKind.CONFIG, f"agent {handle.id} is long-lived (one session, one working "
                           "directory): it cannot work in a task's workspace; serve it with --mode per-task",
                           agent_id=handle.id)
    try:
        with received(request.archive, limit) as (root, cwd, base):
            result = handle.execute(replace(request, archive=None, workspace=str(cwd)), on_output)
            patch = capture(root, base).patch
    except TransferError as exc:
        raise AgentFailure(FailureKind.CONFIG, f"workspace: {exc}", agent_id=handle.id) from exc
    except WorkspaceError as exc:
        raise AgentFailure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}", agent_id=handle.id) from exc
    if len(patch) > limit:
        raise AgentFailure(FailureKind.TASK, f"the agent's change is {mib(len(patch))}, over the transfer cap "
                           f"of {mib(limit)}", agent_id=handle.id, output=result.output)
    return replace(result, patch=patch)
