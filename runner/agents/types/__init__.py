"""Agent types by name. A pool agent's ``type`` comes from here."""

AGENT_TYPES: dict[str, str] = {
    "command": "runner.agents.types.command:CommandType",
}
