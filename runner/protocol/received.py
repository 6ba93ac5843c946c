"""The server's side of a workspace sent with a task (protocol version 3): unpack it into a
temporary directory as it arrives, run the agent there, answer with its change, remove the directory.

``runner.workspace.unpack`` checks the archive (size, hostile entries) while reading it, before
any file is written; a refused archive fails the task with kind ``config`` (sending it again
cannot help). The change goes to an anonymous temporary file (``TaskResult.patch_file``), which
the transport streams back and closes: neither the workspace nor the change is held in memory.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace

from runner.agents.handle import AgentHandle, OutputCallback
from runner.agents.model import TaskRequest, TaskResult
from runner.errors import AgentFailure, FailureKind, WorkspaceError
from runner.workspace.capture import capture_to
from runner.workspace.transfer import TransferError, mib
from runner.workspace.unpack import received


def run_received(handle: AgentHandle, request: TaskRequest, on_output: OutputCallback, limit: int) -> TaskResult:
    """Run ``request`` (which carries an ``archive``) in a checkout of it; the result carries the
    change as ``patch_file`` (at its start; the caller closes it)."""
    assert request.archive is not None
    d = handle.info.definition
    if d is not None and d.mode == "long-lived":
        raise AgentFailure(FailureKind.CONFIG, f"agent {handle.id} is long-lived (one session, one working "
                           "directory): it cannot work in a task's workspace; serve it with --mode per-task",
                           agent_id=handle.id)
    patch = tempfile.TemporaryFile(prefix="runner-change-")  # unlinked at once: gone with the process
    try:
        try:
            with received(request.archive, limit) as (root, cwd, base):
                result = handle.execute(replace(request, archive=None, workspace=str(cwd)), on_output)
                size = capture_to(root, base, patch)
        except TransferError as exc:
            raise AgentFailure(FailureKind.CONFIG, f"workspace: {exc}", agent_id=handle.id) from exc
        except WorkspaceError as exc:
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}", agent_id=handle.id) from exc
        if size > limit:
            raise AgentFailure(FailureKind.TASK, f"the agent's change is {mib(size)}, over the transfer cap "
                               f"of {mib(limit)}", agent_id=handle.id, output=result.output)
    except BaseException:
        patch.close()
        raise
    os.lseek(patch.fileno(), 0, os.SEEK_SET)
    patch.seek(0)
    return replace(result, patch_file=patch)
