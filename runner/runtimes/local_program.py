"""The program a local agent runs: checked once, before anything starts, so a missing or
non-executable one is a clear INFRASTRUCTURE failure instead of a failed exec."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.agents.pty import build_env
from runner.agents.types.base import AgentType
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind
from runner.spec.models import AgentDef

# Keep the program as given (the pyenv shim resolves it the same way, and resolving it here
# would only hide which interpreter the pool asked for).
_AS_GIVEN = {"python", "python3"}


def resolve_program(agent_type: AgentType, definition: AgentDef, ctx: RunContext, agent_id: str) -> str:
    """The program's path, checked once (a clear error instead of a failed exec)."""
    spec = agent_type.launch(definition, None, ctx, agent_id)
    if not spec.argv or not spec.argv[0]:
        raise AgentFailure(FailureKind.INFRASTRUCTURE, "no command to run", agent_id=agent_id)
    if not Path(spec.cwd).is_dir():
        raise AgentFailure(FailureKind.INFRASTRUCTURE, f"working directory {spec.cwd} does not exist",
                           agent_id=agent_id)
    program = spec.argv[0]
    path_var = build_env(spec.env, ctx.environ)["PATH"]
    if os.sep in program:
        found = str(Path(spec.cwd) / program)
        if not (os.path.isfile(found) and os.access(found, os.X_OK)):
            raise AgentFailure(FailureKind.INFRASTRUCTURE,
                               f"program `{program}` does not exist or is not executable",
                               agent_id=agent_id)
        return found
    on_path = shutil.which(program, path=path_var)
    if on_path is None:
        raise AgentFailure(FailureKind.INFRASTRUCTURE,
                           f"program `{program}` was not found on PATH", agent_id=agent_id)
    return program if program in _AS_GIVEN else on_path
