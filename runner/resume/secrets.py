"""Secrets and ``--resume``: they are never written to the journal, so a resumed run reads them
again from the environment, the same way the first run did (``credentials: {VAR: {env: NAME}}``).

The first run's ``run.json`` keeps the *names* of the variables its agents' credentials were read
from and that were set (``credentialEnv``; never a value). An agent the resumed run starts whose
credential comes from such a variable, now unset, fails with a configuration error that says so
(exit 2) instead of running without it (a fresh run leaves an unset one out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.errors import AgentFailure, FailureKind


def credential_env(agents: Iterable[Any], environ: Mapping[str, str]) -> list[str]:
    """The variables of runner's environment the agents' credentials come from that are set (names)."""
    return sorted({name for a in agents if a.definition is not None
                   for name in a.definition.credentials.values() if name in environ})


def check_again(earlier: Any, info: Any, environ: Mapping[str, str]) -> None:
    """``AgentFailure(CONFIG)`` when ``info``'s credentials need a variable the run being resumed
    had and this one has not."""
    if earlier is None or info.definition is None:
        return
    had = set(earlier.run.get("credentialEnv") or ())
    gone = sorted({name for name in info.definition.credentials.values() if name in had and name not in environ})
    if gone:
        names = ", ".join(f"${n}" for n in gone)
        raise AgentFailure(FailureKind.CONFIG, f"{names} not set: run {earlier.run_id} read this agent's "
                           "credentials from it; secrets are never written to the journal, a resumed run reads "
                           "them again from the environment (set it and resume again)", agent_id=info.id)
