"""Values that flow between the executor, registries, runtimes and agents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from runner.spec.models import AgentDef

if TYPE_CHECKING:
    from runner.workspace.transfer import Archive


@dataclass(frozen=True, kw_only=True)
class AgentInfo:
    """An agent a registry knows about, or one a runtime can start.

    ``endpoint`` set: the agent already runs and is reached over HTTP/gRPC.
    ``endpoint`` None: a runtime must start it from ``definition`` (a spawn).
    ``source`` names where it came from: ``direct``, ``env``, ``static``, ``etcd``,
    ``template:<name>``.
    """

    id: str
    name: str
    type: str
    capabilities: tuple[str, ...] = ()
    expertise: Mapping[str, float] = field(default_factory=dict)
    endpoint: str | None = None
    definition: AgentDef | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = "static"

    @property
    def needs_spawn(self) -> bool:
        """A runtime must start it: no endpoint, but a definition to start it from.

        Agents handed in from Python (no endpoint, no definition) are already live."""
        return self.endpoint is None and self.definition is not None

    def has(self, capabilities: tuple[str, ...] | list[str]) -> bool:
        return set(capabilities) <= set(self.capabilities)


@dataclass(frozen=True, kw_only=True)
class TaskRequest:
    """One task for one agent (the wire contract's ``{taskId, description, data, timeout}``)."""

    task_id: str
    description: str
    data: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None  # seconds
    inactivity: float | None = None  # seconds without output → hang
    workspace: str | None = None  # absolute path: the attempt's own checkout, the task's working directory
    archive: Archive | None = None  # on the wire to a remote agent: the checkout itself (runner.workspace.transfer)


@dataclass(frozen=True, kw_only=True)
class TaskResult:
    """An agent's answer (the wire contract's ``{taskId, result, confidence, reasoning}``)."""

    task_id: str
    result: Any
    confidence: float | None = None
    reasoning: str = ""
    output: str = ""  # raw transcript of the attempt (may be truncated), for the journal
    usage: Mapping[str, Any] = field(default_factory=dict)  # tokens / cost when reported
    denied: tuple[str, ...] = ()  # tools the agent was refused (claude's permission_denials)
    patch: bytes | None = None  # from a remote agent sent an ``archive``: its change (binary git patch)
    # On the agent server's side, the same change as an open file the transport streams back and closes.
    patch_file: IO[bytes] | None = None
