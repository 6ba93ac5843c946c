"""Load a plug-in class from a literal registry of ``name -> "module:Class"``, and check what a
pool says to it.

The registries themselves live next to their plug-ins (``runner.runtimes.RUNTIMES``,
``runner.registries.REGISTRIES``, ``runner.agents.types.AGENT_TYPES``). They name classes as
strings so that ``runner --help`` never imports a plug-in; a plug-in's module is imported the
first time it is used. A plug-in's module must stay import-light: docker, kubernetes, etcd and
grpc are imported inside the adapter when it starts something, so ``runner validate`` can read a
class's declarations (``options_schema``, ``extras``, ``capabilities``) on any machine.

The contract every plug-in class declares as data (checked by the contract tests):

- ``options_schema``: a JSON Schema (an object schema, ``additionalProperties: false``) of the
  options a pool gives it; ``runner validate`` reports a misspelt key at its ``file:line:col``.
- ``extras``: ``{extra: module}``, the pip extras (``runner[docker]``) it imports lazily; a
  missing one is reported at validate time (found with ``importlib.util.find_spec``, no import).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from runner.errors import ConfigurationError
from runner.nearmiss import suggest
from runner.spec.diagnose import schema_problems


def load(kind: str, registry: Mapping[str, str], name: str) -> Any:
    """The class registered as ``name``; a clear ConfigurationError when unknown or not installed."""
    if name not in registry:
        raise ConfigurationError(f"unknown {kind} `{name}`: {suggest(name, registry)}")
    module_name, _, attr = registry[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        if missing.startswith("runner"):
            raise  # runner's own module: a packaging bug, not a missing extra
        raise ConfigurationError(
            f"{kind} `{name}` needs the Python package `{missing}`: pip install 'runner[{name}]'"
        ) from exc
    return getattr(module, attr)


def closed(properties: Mapping[str, Any], **keywords: Any) -> dict[str, Any]:
    """An options schema: a mapping of exactly these ``properties`` (plus other JSON Schema keywords)."""
    return {"type": "object", "properties": dict(properties), "additionalProperties": False, **keywords}


def described(schema: Mapping[str, Any], text: str) -> dict[str, Any]:
    """``schema`` with a ``description`` (what docs/plugins.md says of the option)."""
    return {**schema, "description": text}


def option_errors(schema: Mapping[str, Any], options: Any) -> list[str]:
    """Every problem of ``options`` against a plug-in's ``schema``, one line each (no file marks:
    for options built in code; a pool file's are reported by ``runner validate`` with their lines)."""
    out = []
    for path, message, at_key in schema_problems(schema, options):
        where = path[2:] if path.startswith("$.") else ""
        out.append(message if at_key or not where else f"`{where}`: {message}")
    return out


def check_options(what: str, schema: Mapping[str, Any], options: Any) -> None:
    """ConfigurationError (``what``: the first problem) when ``options`` do not fit ``schema``."""
    errors = option_errors(schema, options)
    if errors:
        raise ConfigurationError(f"{what}: " + "; ".join(errors))


def missing_extras(extras: Mapping[str, str]) -> list[str]:
    """One line per extra of ``{extra: module}`` whose module cannot be found (nothing is imported)."""
    out = []
    for extra, module in sorted(extras.items()):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(f"needs the Python package `{module}`: pip install 'runner[{extra}]'")
    return out
