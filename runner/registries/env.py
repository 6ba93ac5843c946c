"""The ``env`` registry: agents listed as JSON in an environment variable.

``RUNNER_LOCAL_AGENTS`` (or the variable named by the option ``variable``) holds a JSON
array. Each entry is an agent that already runs::

    {"id": "a1", "name": "Reviewer", "endpoint": "http://127.0.0.1:8081", "capabilities": ["review"]}

(the form ``PARALLAX_LOCAL_AGENTS`` uses, which is read too when no ``variable`` is given), or
one a runtime starts, with a ``command`` (a list of arguments, or a string split like a shell
would, without running one)::

    {"id": "a2", "command": ["python3", "agent.py"], "capabilities": ["code"], "mode": "per-task"}

Entries may also carry ``type``, ``expertise`` (``{tag: 0..1}``, one number, or a list of tags),
``metadata`` and the agent-definition keys listed in ``DEFINITION_KEYS`` (snake_case or
camelCase). Invalid JSON or entries raise ``SpecError``; each diagnostic's file is the
variable's name.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from runner.agents.model import AgentInfo
from runner.errors import Diagnostic, SpecError
from runner.plugins import closed, described, suggest
from runner.registries.base import Registry, RegistryCapabilities
from runner.spec.models import AgentDef

DEFAULT_VARIABLE = "RUNNER_LOCAL_AGENTS"
SEED_VARIABLE = "PARALLAX_LOCAL_AGENTS"
#: AgentDef fields an entry may set (besides command/capabilities/expertise/metadata/type)
DEFINITION_KEYS = ("mode", "input", "ready_pattern", "login_pattern", "done_pattern", "workdir",
                   "env", "credentials", "confidence", "options", "runtime")
KEYS = ("id", "name", "endpoint", "capabilities", "type", "expertise", "metadata", "command",
        *DEFINITION_KEYS)
_STRING_MAPS = ("env", "credentials")


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), key)


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
    e = {_snake(k): v for k, v in entry.items()}
    for key in e:
        if key not in KEYS:
            bad(key, f"unknown key `{key}`: {suggest(key, KEYS)}")
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
    if isinstance(command, str):
        try:
            command = shlex.split(command)
        except ValueError as exc:
            bad("command", f"cannot split the command line: {exc}")
            command = None
    if command is not None and (not isinstance(command, list) or not command
                                or not all(isinstance(a, str) for a in command)):
        bad("command", "expected a non-empty list of strings (program and arguments)")
    capabilities = e.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        bad("capabilities", "expected a list of strings")
        capabilities = []
    expertise = e.get("expertise", {})
    if isinstance(expertise, list) and all(isinstance(t, str) for t in expertise):
        expertise = {t: 1.0 for t in expertise}
    elif isinstance(expertise, int | float) and not isinstance(expertise, bool):
        expertise = {"*": expertise}  # as in pool files: one level for everything
    if not isinstance(expertise, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in expertise.values()):
        bad("expertise", "expected a number in [0, 1], an object of tag: number in [0, 1] or a list of tags")
        expertise = {}
    metadata = e.get("metadata", {})
    if not isinstance(metadata, dict):
        bad("metadata", f"expected an object, got {_kind(metadata)}")
        metadata = {}
    agent_type = e.get("type", "command")
    if not isinstance(agent_type, str):
        bad("type", f"expected a string, got {_kind(agent_type)}")
        agent_type = "command"
    fields = {k: e[k] for k in DEFINITION_KEYS if k in e}
    if isinstance(fields.get("credentials"), dict):  # {VAR: "RUNNER_VAR"} or, as in pools, {VAR: {env: ...}}
        fields["credentials"] = {k: v["env"] if isinstance(v, dict) and set(v) == {"env"} else v
                                 for k, v in fields["credentials"].items()}
    for key in _STRING_MAPS:
        value = fields.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            bad(key, "expected an object of NAME: string" + (" (or NAME: {env: VARIABLE})" if key == "credentials" else ""))
            fields.pop(key, None)
    if "options" in fields and not isinstance(fields["options"], dict):
        bad("options", "expected an object")
        fields.pop("options")
    for key in ("mode", "input", "ready_pattern", "login_pattern", "done_pattern", "workdir", "runtime"):
        if key in fields and not isinstance(fields[key], str):
            bad(key, f"expected a string, got {_kind(fields[key])}")
            fields.pop(key)
    conf = fields.get("confidence")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 <= conf <= 1):
        bad("confidence", "expected a number in [0, 1]")
        fields.pop("confidence")
    if not isinstance(agent_id, str) or not isinstance(name, str):
        return None
    definition = AgentDef(type=agent_type, command=tuple(command) if isinstance(command, list) else (),
                          capabilities=tuple(capabilities), expertise=dict(expertise),
                          metadata=dict(metadata), **fields)
    return AgentInfo(id=agent_id, name=name, type=agent_type, capabilities=tuple(capabilities),
                     expertise=dict(expertise), endpoint=endpoint if isinstance(endpoint, str) else None,
                     definition=definition, metadata=dict(metadata), source="env")


def _diag(variable: str, path: str, message: str) -> Diagnostic:
    return Diagnostic(file=variable, line=0, col=0, path=path, message=message)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")
