"""One agent definition (``AgentDef``) to and from plain data, in the pool file's own words.

Every place that writes a definition down uses this pair, so a field added to ``AgentDef`` is
added here once and reaches them all: pool files (``spec/pool.py``), the ``env`` registry's
JSON, etcd records, the container's ``RUNNER_AGENT_DEFINITION`` and the pod's (or anyone's)
``runner agent serve --definition``::

    data = agentdef_to_data(definition)   # JSON-ready, camelCase, only the non-default keys
    definition = agentdef_from_data(data, source="RUNNER_LOCAL_AGENTS", path="$[0]")

``agentdef_from_data`` checks ``data`` against the pool schema's own ``$defs/definition`` and
raises ``SpecError`` naming every problem (``RUNNER_LOCAL_AGENTS: $[0].comand: unknown key
`comand` (did you mean `command`?)``). Units: ``agentdef_to_data`` writes seconds, cores and
bytes as numbers, which read back exactly; the pool's ``"1m30s"``, ``"500m"`` and ``"1Gi"``
are read too. Credentials are names only (``{VAR: {env: RUNNER_VAR}}``), never a value.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from functools import cache
from typing import Any

from runner.errors import Diagnostic, SpecError
from runner.resources import schema
from runner.spec.diagnose import schema_diagnostics
from runner.spec.models import AgentDef, Resources
from runner.spec.units import optional_duration, parse_cpu, parse_memory

#: the variable that hands a definition (JSON) to ``runner agent serve`` and container entries
DEFINITION_ENV = "RUNNER_AGENT_DEFINITION"
SCHEMA = "pool#definition"  # the $defs entry of schemas/pool.schema.json (tools/gen_schemas.py)
# AgentDef fields written as they are (key in data, attribute)
_PLAIN = (("type", "type"), ("mode", "mode"), ("input", "input"), ("readyPattern", "ready_pattern"),
          ("loginPattern", "login_pattern"), ("donePattern", "done_pattern"), ("workdir", "workdir"),
          ("confidence", "confidence"), ("runtime", "runtime"))
_RESOURCES = (("cpu", "cpu"), ("memory", "memory"), ("timeout", "timeout"), ("idleTimeout", "idle_timeout"))
_DEFAULT = AgentDef()


@cache
def definition_keys() -> tuple[str, ...]:
    """The keys of an agent definition, as the pool schema lists them."""
    return tuple(schema("pool")["$defs"]["definition"]["properties"])


def agentdef_to_data(d: AgentDef) -> dict[str, Any]:
    """``d`` as JSON-ready data that ``agentdef_from_data`` turns back into an equal AgentDef."""
    data: dict[str, Any] = {key: getattr(d, attr) for key, attr in _PLAIN
                            if getattr(d, attr) != getattr(_DEFAULT, attr)}
    if d.command:
        data["command"] = list(d.command)
    if d.env:
        data["env"] = dict(d.env)
    if d.credentials:
        data["credentials"] = {var: {"env": source} for var, source in d.credentials.items()}
    if d.capabilities:
        data["capabilities"] = list(d.capabilities)
    if d.expertise:
        data["expertise"] = dict(d.expertise)
    if d.metadata:
        data["metadata"] = dict(d.metadata)
    resources = {key: getattr(d.resources, attr) for key, attr in _RESOURCES
                 if getattr(d.resources, attr) is not None}
    if resources:
        data["resources"] = resources
    if d.options:
        data["options"] = dict(d.options)
    return data


def agentdef_from_data(data: Any, *, source: str = "<data>", path: str = "$", checked: bool = False) -> AgentDef:
    """The AgentDef ``data`` describes; SpecError (diagnostics in ``source`` under ``path``) when
    it is not one.

    ``checked``: ``data`` is part of a document already checked against the pool schema (a pool
    file): it is not checked again, and keys that are not the definition's (``id``, ``name``...)
    are ignored.
    """
    if not checked:
        problems = _problems(data, source, path)
        if problems:
            raise SpecError(problems)
    return _build(data)


def _problems(data: Any, source: str, path: str) -> list[Diagnostic]:
    found = [replace(d, path=path + d.path[1:])
             for d in schema_diagnostics(data, SCHEMA, source, {}, {})]
    if found or not isinstance(data, dict):
        return found

    def bad(key: str, message: str) -> None:
        found.append(Diagnostic(file=source, line=0, col=0, path=f"{path}.{key}", message=message))

    for var, ref in (data.get("credentials") or {}).items():
        if isinstance(ref, str):  # the schema lets it through for the pool check to explain it
            bad(f"credentials.{var}", "expected {env: NAME} (the variable holding the secret), got a string")
    if isinstance(data.get("command"), str):
        try:
            shlex.split(data["command"])
        except ValueError as exc:
            bad("command", f"cannot split the command into words: {exc}")
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):  # YAML `true` in env means the string "true", not "True"
        return "true" if value else "false"
    return str(value)


def _build(a: dict[str, Any]) -> AgentDef:
    command = a.get("command", ())
    expertise = a.get("expertise", {})
    res = a.get("resources") or {}
    return AgentDef(
        type=a.get("type", _DEFAULT.type),
        command=tuple(shlex.split(command) if isinstance(command, str) else command),
        mode=a.get("mode", _DEFAULT.mode),
        input=a.get("input", _DEFAULT.input),
        ready_pattern=a.get("readyPattern"),
        login_pattern=a.get("loginPattern"),
        done_pattern=a.get("donePattern"),
        workdir=a.get("workdir"),
        env={k: _text(v) for k, v in (a.get("env") or {}).items()},
        credentials={k: v["env"] for k, v in (a.get("credentials") or {}).items()},
        capabilities=tuple(a.get("capabilities", ())),
        expertise={"*": float(expertise)} if isinstance(expertise, int | float) else
        {k: float(v) for k, v in expertise.items()},
        confidence=a.get("confidence"),
        metadata=dict(a.get("metadata") or {}),
        resources=Resources(
            cpu=None if res.get("cpu") is None else parse_cpu(res["cpu"]),
            memory=None if res.get("memory") is None else parse_memory(res["memory"]),
            timeout=optional_duration(res.get("timeout")),
            idle_timeout=optional_duration(res.get("idleTimeout")),
        ),
        runtime=a.get("runtime"),
        options=dict(a.get("options") or {}),
    )
