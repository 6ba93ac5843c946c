"""Load YAML into plain data plus the line/column of every key and value.

``load_yaml(text, source)`` composes the node tree (libyaml's C composer when available,
which keeps a cold ``runner apply`` fast), then builds plain dicts/lists/scalars from it
while recording marks keyed by JSON-path-like key paths::

    doc.marks["$.steps[0].retry.limit"]        == (12, 7)   # where the key `limit` is
    doc.value_marks["$.steps[0].retry.limit"]  == (12, 14)  # where its value is

Marks are 1-based. A sequence item's mark is where the item starts; ``$`` is the document.
Mapping keys are always strings (``on:`` stays ``"on"``, not YAML 1.1's ``True``). Duplicate
keys and syntax errors are ``SpecError``s with Diagnostics, never tracebacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.errors import Diagnostic, SpecError

try:  # libyaml: ~10x faster than the pure-Python composer
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Mark = tuple[int, int]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def child_path(parent: str, key: str | int) -> str:
    """``$.a`` + ``b`` → ``$.a.b``; + ``0`` → ``$.a[0]``; odd keys are quoted: ``$.a["x.y"]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


def mark_of(marks: dict[str, Mark], path: str) -> Mark:
    """The mark of ``path``, or of its nearest ancestor that has one; (0, 0) if none."""
    while True:
        if path in marks:
            return marks[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return marks.get("$", (0, 0))
        path = path[:cut]


@dataclass
class YamlDoc:
    data: Any
    marks: dict[str, Mark] = field(default_factory=dict)  # keys (and sequence items, `$`)
    value_marks: dict[str, Mark] = field(default_factory=dict)  # values


def load_yaml(text: str, source: str) -> YamlDoc:
    """Parse one YAML document. Raises SpecError for syntax errors and duplicate keys."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {"$": (1, 1)}, {"$": (1, 1)})
        builder = _Builder(loader, source)
        data = builder.build(node, "$")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        what = "unsupported YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise SpecError([Diagnostic(file=source, line=line, col=col, path="$",
                                    message=f"{what}: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file=source, line=0, col=0, path="$",
                                    message=f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    builder.marks["$"] = (1, 1)
    return YamlDoc(data, builder.marks, builder.value_marks)


class _Builder:
    """Turns a composed node tree into plain data, recording marks as it goes."""

    def __init__(self, loader: Any, source: str) -> None:
        self.loader = loader
        self.source = source
        self.marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: str) -> Any:
        self.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self.marks[child_path(path, i)] = _mark(item)
                out.append(self.build(item, child_path(path, i)))
            return out
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}  # from `<<: *anchor`; the mapping's own keys win
        first: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._merge(value_node, path, merged)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                self.problems.append(Diagnostic(file=self.source, line=line, col=col, path=path,
                                                message="keys must be plain strings"))
                continue
            key = str(key_node.value)
            sub = child_path(path, key)
            if key in first:
                line, col = _mark(key_node)
                self.problems.append(Diagnostic(
                    file=self.source, line=line, col=col, path=sub,
                    message=f"duplicate key `{key}` (first at line {first[key][0]})"))
                continue
            first[key] = _mark(key_node)
            self.marks[sub] = first[key]
            out[key] = self.build(value_node, sub)
        if merged:
            return {**{k: v for k, v in merged.items() if k not in out}, **out}
        return out

    def _merge(self, node: yaml.Node, path: str, merged: dict[str, Any]) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for src in sources:  # earlier sources win, as in YAML's merge-key spec
            if not isinstance(src, yaml.MappingNode):
                line, col = _mark(src)
                self.problems.append(Diagnostic(file=self.source, line=line, col=col, path=path,
                                                message="`<<` merges only mappings"))
                continue
            for key, value in self._mapping(src, path).items():
                merged.setdefault(key, value)


def _mark(node: yaml.Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)
