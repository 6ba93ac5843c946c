"""The ``env`` registry: agents listed as JSON in an environment variable.

``RUNNER_LOCAL_AGENTS`` (or the variable named by the option ``variable``) holds a JSON
array. Each entry is an agent that already runs::

    {"id": "a1", "name": "Reviewer", "endpoint": "http://127.0.0.1:8081", "capabilities": ["review"]}

(the form ``PARALLAX_LOCAL_AGENTS`` uses, which is read too when no ``variable`` is given), or
one a runtime starts, with a ``command`` (a list of arguments, or a string split like a shell
would, without running one)::

    {"id": "a2", "command": ["python3", "agent.py"], "capabilities": ["code"], "mode": "per-task"}

Every key but ``id``, ``name`` and ``endpoint`` is the agent's definition, in a pool file's
own words (read by ``runner.spec.agentdef``: ``type``, ``mode``, ``readyPattern``,
``resources``, ``options``...; snake_case keys are read as camelCase). Two shorthands of the
seed's form are kept: ``expertise`` as a list of tags (each 1.0) and ``credentials`` as
``{VAR: "RUNNER_VAR"}`` (the name of the variable holding the secret, as ``{env: ...}`` is).
Invalid JSON or entries raise ``SpecError``; each diagnostic's file is the variable's name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runner.agents.model import AgentInfo
from runner.errors import Diagnostic, SpecError
from runner.nearmiss import suggest
from runner.plugins import closed, described
from runner.registries.base import Registry, RegistryCapabilities
from runner.spec.agentdef import agentdef_from_data, definition_keys

DEFAULT_VARIABLE = "RUNNER_LOCAL_AGENTS"
SEED_VARIABLE = "PARALLAX_LOCAL_AGENTS"
#: keys of an entry that are not its definition's (those: ``runner.spec.agentdef.definition_keys()``)
ENTRY_KEYS = ("id", "name", "endpoint")


def _camel(key: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)


class EnvRegistry(Registry):
    """Agents from ``RUNNER_LOCAL_AGENTS`` / ``PARALLAX_LOCAL_AGENTS`` (or option ``variable``)."""

    name = "env"
    capabilities = RegistryCapabilities(implicit=True)
    options_schema = closed({"variable": described(
        {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "x-expected": "the name of an environment variable"},
        "the variable holding the agents' JSON (RUNNER_LOCAL_AGENTS, then PARALLAX_LOCAL_AGENTS)")})

    def variables(self) -> tuple[str, ...]:
        variable = self.options.get("variable")
        return (variable,) if variable else (DEFAULT_VARIABLE, SEED_VARIABLE)

    def agents(self) -> list[AgentInfo]:
        agents: list[AgentInfo] = []
        seen: dict[str, str] = {}
        problems: list[Diagnostic] = []
        for variable in self.variables():
            raw = self.ctx.environ.get(variable, "")
            if raw.strip():
                for info in parse_agents(raw, variable, problems):
                    if info.id in seen:
                        problems.append(_diag(variable, "$", f"duplicate agent id `{info.id}` "
                                                             f"(already listed in {seen[info.id]})"))
                        continue
                    seen[info.id] = variable
                    agents.append(info)
        if problems:
            raise SpecError(problems)
        return agents



def parse_agents(raw: str, variable: str, problems: list[Diagnostic]) -> list[AgentInfo]:
    """The agents in ``raw`` (JSON text of ``variable``); problems are appended, not raised."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(Diagnostic(file=variable, line=exc.lineno, col=exc.colno, path="$",
                                   message=f"invalid JSON: {exc.msg}"))
        return []
    if not isinstance(data, list):
        problems.append(_diag(variable, "$", f"expected a JSON array of agents, got {_kind(data)}"))
        return []
    agents = []
    ids: set[str] = set()
    for i, entry in enumerate(data):
        before = len(problems)
        info = _entry(entry, variable, f"$[{i}]", problems)
        if info is not None and len(problems) == before:
            if info.id in ids:
                problems.append(_diag(variable, f"$[{i}].id", f"duplicate agent id `{info.id}`"))
                continue
            ids.add(info.id)
            agents.append(info)
    return agents


def _entry(entry: Any, variable: str, path: str, problems: list[Diagnostic]) -> AgentInfo | None:
    def bad(key: str, message: str) -> None:
        problems.append(_diag(variable, f"{path}.{key}" if key else path, message))

    if not isinstance(entry, dict):
        bad("", f"expected an object describing an agent, got {_kind(entry)}")
        return None
    e = {_camel(k): v for k, v in entry.items()}
    keys = (*ENTRY_KEYS, *definition_keys())
    for key in e:
        if key not in keys:
            bad(key, f"unknown key `{key}` ({suggest(key, list(keys))})")
    agent_id = e.get("id")
    if not isinstance(agent_id, str) or not agent_id.strip():
        bad("id", "missing: every agent needs a non-empty string `id`")
        agent_id = ""
    name = e.get("name", agent_id)
    if not isinstance(name, str):
        bad("name", f"expected a string, got {_kind(name)}")
    endpoint, command = e.get("endpoint"), e.get("command")
    if endpoint is None and command is None:
        bad("", "needs an `endpoint` (a running agent) or a `command` (an agent to start)")
    if endpoint is not None and command is not None:
        bad("", "has both `endpoint` and `command`: give one")
    if endpoint is not None and not (isinstance(endpoint, str) and re.match(r"^(https?|grpcs?)://\S+$", endpoint)):
        bad("endpoint", f"expected an http://, https://, grpc:// or grpcs:// URL, got {endpoint!r}")
    data = {k: v for k, v in e.items() if k in keys and k not in ENTRY_KEYS}
    expertise = data.get("expertise")
    if isinstance(expertise, list) and all(isinstance(t, str) for t in expertise):
        data["expertise"] = {t: 1.0 for t in expertise}
    credentials = data.get("credentials")
    if isinstance(credentials, dict):
        data["credentials"] = {k: {"env": v} if isinstance(v, str) else v for k, v in credentials.items()}
    try:
        definition = agentdef_from_data(data, source=variable, path=path)
    except SpecError as exc:
        problems.extend(exc.diagnostics)
        return None
    if not isinstance(agent_id, str) or not isinstance(name, str):
        return None
    return AgentInfo(id=agent_id, name=name, type=definition.type, capabilities=definition.capabilities,
                     expertise=definition.expertise, endpoint=endpoint if isinstance(endpoint, str) else None,
                     definition=definition, metadata=definition.metadata, source="env")


def _diag(variable: str, path: str, message: str) -> Diagnostic:
    return Diagnostic(file=variable, line=0, col=0, path=path, message=message)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")
