"""Agent types by name. A pool agent's ``type`` comes from here."""

from __future__ import annotations

from typing import Any

from runner.plugins import load

AGENT_TYPES: dict[str, str] = {
    "command": "runner.agents.types.command:CommandType",
    "claude": "runner.agents.types.claude:ClaudeType",
    "codex": "runner.agents.types.codex:CodexType",
    "gemini": "runner.agents.types.gemini:GeminiType",
    "aider": "runner.agents.types.aider:AiderType",
}
#: the types that wrap a real agent CLI (each a ``CliType`` with its own image, looked at by
#: ``runner agents doctor``); ``command`` runs any program
CLI_TYPES: tuple[str, ...] = tuple(name for name in AGENT_TYPES if name != "command")


def load_type(name: str) -> Any:
    """An instance of the agent type registered as ``name`` (ConfigurationError when unknown)."""
    return load("agent type", AGENT_TYPES, name)()
