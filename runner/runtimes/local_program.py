"""The program a local agent runs: checked once, before anything starts, so a missing or
non-executable one is a clear INFRASTRUCTURE failure instead of a failed exec."""

from __future__ import annotations

import os
from pathlib import Path

from runner.agents.pty import build_env, find_program
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
    found = find_program(program, str(spec.cwd), build_env(spec.env, ctx.environ)["PATH"])
    if found is None:
        where = "does not exist or is not executable" if os.sep in program else "was not found on PATH"
        raise AgentFailure(FailureKind.INFRASTRUCTURE, f"program `{program}` {where}", agent_id=agent_id)
    return program if program in _AS_GIVEN else found
