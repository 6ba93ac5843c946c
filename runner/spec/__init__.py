"""The file layer: load pattern and pool files into frozen models, with line-accurate errors.

    load_pattern(path) / parse_pattern(text, source) -> Pattern
    load_pool(path) / parse_pool(text, source)       -> Pool
    load_file(path)                                  -> Pattern | Pool   (kind from `kind:` or keys)
    check_pair(pattern, pool)                        -> list[Diagnostic]  (capabilities the pool lacks)
    step_dependencies(step)                          -> tuple[str, ...]   (needs + steps its templates read)

Every problem of a file is raised at once as ``runner.errors.SpecError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.spec.models import Pattern, Pool

# Loaded on first use: importing ``runner.spec.models`` (every command does) must not pull in
# the YAML, jsonschema and Jinja machinery that only loading a file needs, nor the plug-in
# registries the pool checks read (their modules import ``runner.spec.models`` themselves).
_LAZY = {
    "Pattern": "runner.spec.models", "Pool": "runner.spec.models",
    "load_pattern": "runner.spec.pattern", "parse_pattern": "runner.spec.pattern",
    "load_pool": "runner.spec.pool", "parse_pool": "runner.spec.pool",
    "check_pair": "runner.spec.poolchecks", "step_dependencies": "runner.spec.templates",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # lazy: the façade stays light (see _LAZY)

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["Pattern", "Pool", "check_pair", "load_file", "load_pattern", "load_pool", "parse_file",
           "parse_pattern", "parse_pool", "step_dependencies"]


def load_file(path: str | Path) -> Pattern | Pool:
    """Load a pattern or a pool: by its top-level ``kind``, else ``steps`` means a pattern."""
    from runner.spec.document import read_text  # lazy: the façade stays light (see _LAZY)

    return parse_file(read_text(path), str(path))


def parse_file(text: str, source: str = "<memory>") -> Pattern | Pool:
    """``load_file`` for text already read."""
    from runner.spec.document import paused_gc  # lazy: the façade stays light (see _LAZY)
    from runner.spec.pattern import parse_pattern  # lazy: the façade stays light (see _LAZY)
    from runner.spec.pool import parse_pool  # lazy: the façade stays light (see _LAZY)
    from runner.spec.yamlload import load_yaml  # lazy: the façade stays light (see _LAZY)

    with paused_gc():
        doc = load_yaml(text, source)
    data = doc.data
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "pool" or (kind != "pattern" and isinstance(data, dict) and "steps" not in data
                          and any(k in data for k in ("agents", "templates", "registries", "runtimes"))):
        return parse_pool(text, source, doc=doc)
    return parse_pattern(text, source, doc=doc)
