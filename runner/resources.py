"""Files shipped with runner: JSON Schemas and built-in patterns.

An installed wheel carries them as ``runner/_data/{schemas,patterns}`` (hatch force-include,
see pyproject.toml); an editable or source checkout reads the repo's top-level ``schemas/``
and ``patterns/`` folders instead.

Built-in patterns are named ``builtin:NAME`` (e.g. ``runner apply builtin:vote``): the prefix
makes it explicit, so a file called ``vote`` in the current directory never shadows one, nor
the other way round. ``builtin_pattern("vote")`` also accepts the bare name.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.nearmiss import suggest

BUILTIN_PREFIX = "builtin:"


def _data_dir(name: str) -> Path:
    packaged = resources.files("runner") / "_data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name  # source checkout


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/NAME.schema.json`` (``pattern`` or ``pool``)."""
    path = _data_dir("schemas") / f"{name}.schema.json"
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def builtin_patterns_dir() -> Path:
    """The folder holding the built-in patterns (``*.yaml``)."""
    return _data_dir("patterns")


def builtin_patterns() -> list[str]:
    """Names of the built-in patterns, sorted."""
    return sorted(p.stem for p in builtin_patterns_dir().glob("*.yaml"))


def builtin_pattern(name: str) -> Path:
    """The file of built-in pattern ``name`` (``vote`` or ``builtin:vote``); UsageError if unknown."""
    bare = name.removeprefix(BUILTIN_PREFIX)
    path = builtin_patterns_dir() / f"{bare}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown built-in pattern `{bare}`: {suggest(bare, builtin_patterns())}")
    return path


def resolve_pattern_path(arg: str) -> Path:
    """A command-line pattern argument as a path: ``builtin:NAME`` → the shipped file."""
    if arg.startswith(BUILTIN_PREFIX):
        return builtin_pattern(arg)
    return Path(arg)


def builtin_hint(arg: str) -> str:
    """`` (did you mean `builtin:NAME`?)`` when ``arg`` — a pattern file that does not exist — is
    named like a built-in pattern (``vote``, ``vote.yaml``); else ``""``."""
    name = Path(arg).name.removesuffix(".yaml").removesuffix(".yml")
    return f" (did you mean `{BUILTIN_PREFIX}{name}`?)" if name in builtin_patterns() else ""


def default_pool_path() -> Path:
    """The embedded default pool (``pools/default.yaml``): local runtime, ``command`` agents."""
    return _data_dir("pools") / "default.yaml"
