"""Load a plug-in class from a literal registry of ``name -> "module:Class"``.

The registries themselves live next to their plug-ins (``runner.runtimes.RUNTIMES``,
``runner.registries.REGISTRIES``, ``runner.agents.types.AGENT_TYPES``). They name classes as
strings so that ``runner --help`` or ``runner validate`` never import docker, kubernetes,
etcd or grpc; a plug-in's module is imported the first time it is used.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any

from runner.errors import ConfigurationError


def suggest(name: str, known: list[str] | Mapping[str, Any]) -> str:
    """`` (did you mean `x`?)`` for a near miss, else the list of known names."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "expected one of: " + ", ".join(f"`{n}`" for n in names)


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
