"""What a pool says to its plug-ins, checked against what each plug-in declares.

Every ``runtimes[]`` and ``registries[]`` entry is checked against its plug-in's
``options_schema``, written at the entry's top level or nested under ``options:`` (both
documented forms; a key given in both is an error). Every agent's and template's ``options:``
is checked against its type's ``options_schema`` together with the ``agent_options_schema`` of
the runtimes that may start it (its pinned ``runtime``, else the pool's). A plug-in whose pip
extra is not installed is reported here too (``importlib.util.find_spec``: nothing is imported).

The plug-in classes are loaded to read these declarations; their modules are import-light by
contract (``runner.plugins``), so no backend (docker, kubernetes, etcd, grpc) is imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.agents.types import AGENT_TYPES
from runner.errors import ConfigurationError
from runner.plugins import closed, load, missing_extras
from runner.registries import REGISTRIES
from runner.runtimes import RUNTIMES
from runner.spec.diagnose import Reporter, schema_problems

#: the keys of an entry that are the pool's own, not the plug-in's
ENTRY_KEYS = {"runtimes": ("type", "priority", "maxAgents"), "registries": ("type",)}
_FIRST_KEY = re.compile(r'^\.([A-Za-z_][A-Za-z0-9_-]*)|^\["((?:[^"\\]|\\.)*)"\]')
_merged: dict[tuple[int, ...], dict[str, Any]] = {}


def check_plugins(data: dict[str, Any], rep: Reporter) -> None:
    """Add every problem of the pool's plug-in options and extras to ``rep``."""
    used: dict[str, Any] = {}
    for key, table, kind in (("runtimes", RUNTIMES, "runtime"), ("registries", REGISTRIES, "registry")):
        for i, entry in enumerate(_entries(data.get(key))):
            base = f"$.{key}[{i}]"
            cls = _load(kind, table, entry.get("type"), base, rep)
            if cls is None:
                continue
            if key == "runtimes":
                used.setdefault(entry["type"], cls)
            options = _check_entry(entry, ENTRY_KEYS[key], cls.options_schema, base, rep)
            for message in missing_extras(cls.needs(options)):
                rep.add(f"{base}.type", f"{kind} `{entry['type']}` {message}", at_value=True)
    if not isinstance(data.get("runtimes"), list) or not data["runtimes"]:
        used["local"] = None  # the default runtime, loaded only if an agent has options to check
    for key in ("agents", "templates"):
        for i, entry in enumerate(_entries(data.get(key))):
            _check_agent(entry, f"$.{key}[{i}]", used, rep)


def _entries(value: Any) -> list[dict[str, Any]]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _load(kind: str, table: Mapping[str, str], name: Any, base: str, rep: Reporter) -> Any:
    if not isinstance(name, str) or name not in table:
        return None  # no name, or an unknown one: the pool checks report it
    try:
        return load(kind, table, name)
    except ConfigurationError as exc:
        rep.add(f"{base}.type", str(exc), at_value=True)
        return None


def _check_entry(entry: dict[str, Any], own: tuple[str, ...], schema: Mapping[str, Any], base: str,
                 rep: Reporter) -> dict[str, Any]:
    """Check an entry's options in both forms; returns them merged (as the loader builds them)."""
    nested_raw = entry.get("options")
    nested = nested_raw if isinstance(nested_raw, dict) else {}
    flat = {k: v for k, v in entry.items() if k not in own and k != "options"}
    for k in sorted(set(nested) & set(flat)):
        rep.add(f"{base}.options.{k}", f"`{k}` is also given at the entry's top level: give it once")
    merged = {**nested, **flat}
    from_nested = set(nested) - set(flat)
    for path, message, at_key in schema_problems(schema, merged):
        m = _FIRST_KEY.match(path[1:])
        first = (m.group(1) or m.group(2)) if m else None
        where = f"{base}.options" if first in from_nested else base
        rep.add(where + path[1:], message, at_value=not at_key)
    return merged


def _check_agent(entry: dict[str, Any], base: str, runtimes: dict[str, Any], rep: Reporter) -> None:
    endpoint = entry.get("endpoint")
    if isinstance(endpoint, str) and endpoint.startswith("grpc"):
        for message in missing_extras({"grpc": "grpc"}):
            rep.add(f"{base}.endpoint", f"a gRPC endpoint {message}", at_value=True)
    options = entry.get("options")
    kind = entry.get("type", "command")
    if not isinstance(options, dict) or not options:
        return
    agent_type = _load("agent type", AGENT_TYPES, kind, base, rep)
    if agent_type is None:
        return
    pinned = entry.get("runtime")
    names = [pinned] if isinstance(pinned, str) else list(runtimes)
    classes = [runtimes.get(n) or _load("runtime", RUNTIMES, n, base, rep) for n in names]
    schemas = [agent_type.options_schema, *(c.agent_options_schema for c in classes if c is not None)]
    key = tuple(id(s) for s in schemas)
    if key not in _merged:  # the same few combinations over and over: build each once
        _merged[key] = closed({k: v for s in schemas for k, v in s.get("properties", {}).items()})
    for path, message, at_key in schema_problems(_merged[key], options):
        rep.add(f"{base}.options{path[1:]}", message, at_value=not at_key)
