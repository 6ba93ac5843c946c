"""Load YAML into plain data plus the line/column of every key and value.

``load_yaml(text, source)`` composes the node tree (libyaml's C composer when available,
which keeps a cold ``runner apply`` fast), then builds plain dicts/lists/scalars from it
while recording marks keyed by JSON-path-like key paths::

    doc.marks["$.steps[0].retry.limit"]        == (12, 7)   # where the key `limit` is
    doc.value_marks["$.steps[0].retry.limit"]  == (12, 14)  # where its value is

Marks are 1-based. A sequence item's mark is where the item starts; ``$`` is the document.
They are only needed to place an error, so a file is first built without them (only the
top level's, which the loaders read: ``$.steps[3]``); the full tables are built on first use of
any other mark, by parsing the text again (``_Marks``). Any problem found on the first pass
also sends the text to the marking pass, which reports it exactly as before.
Mapping keys are always strings (``on:`` stays ``"on"``, not YAML 1.1's ``True``). Duplicate
keys, syntax errors, bad explicit tags (``!!int abc``), control characters, NaN, values nested
deeper than ``MAX_DEPTH``, recursive aliases and aliases that expand to more than ``MAX_ALIASED``
values (the "billion laughs") are ``SpecError``s with Diagnostics, never tracebacks.

Aliases are the one way a small file becomes a big document, so the builder counts every value it
builds again through an alias and stops at the budget: the cost of loading is bounded by the
size of the file plus ``MAX_ALIASED``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.errors import Diagnostic, SpecError

try:  # libyaml: ~10x faster than the pure-Python composer
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Base  # type: ignore[assignment]
_BYTE_OFFSETS = _Base.__name__ != "SafeLoader"  # libyaml reports positions in UTF-8 bytes


class _Loader(_Base):
    """The safe loader, remembering each scalar's implicit tag: the composer asks the (Python)
    resolver once per scalar, and a file repeats its keys and values (``id``, ``task``, ``1``).
    The memo is C code (``lru_cache``): a repeated scalar costs the composer no Python call."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.resolve = functools.lru_cache(maxsize=None)(super().resolve)  # type: ignore[method-assign]

    def dispose(self) -> None:
        super().dispose()
        self.__dict__.pop("resolve", None)  # the memo refers back to the loader: no cycle left behind


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


def mark_of(marks: Mapping[str, Mark], path: str) -> Mark:
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
    marks: Mapping[str, Mark] = field(default_factory=dict)  # keys (and sequence items, `$`)
    value_marks: Mapping[str, Mark] = field(default_factory=dict)  # values


class _Marks(Mapping[str, Mark]):
    """A marks table that holds the top level's marks and builds the rest on first need.

    Any key it ``known`` answers at once (the same value the full table has); any other
    lookup, iteration or length parses the text again with marks (``tables``), once."""

    def __init__(self, known: dict[str, Mark], tables: _Tables, index: int) -> None:
        self._known = known
        self._tables = tables
        self._index = index

    def _full(self) -> dict[str, Mark]:
        return self._tables.get()[self._index]

    def __getitem__(self, key: str) -> Mark:
        found = self._known.get(key)
        return found if found is not None else self._full()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._known or key in self._full()

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())

    def __bool__(self) -> bool:  # never empty (`$`), and `marks or {}` must not build the tables
        return True


class _Tables:
    """The full (marks, value_marks) of one text, built once when first asked for."""

    def __init__(self, text: str, source: str) -> None:
        self._text: str | None = text
        self._source = source
        self._built: tuple[dict[str, Mark], dict[str, Mark]] | None = None

    def get(self) -> tuple[dict[str, Mark], dict[str, Mark]]:
        if self._built is None:
            assert self._text is not None
            doc = _load(self._text, self._source, marking=True)
            self._built = (dict(doc.marks), dict(doc.value_marks))
            self._text = None  # the text is kept only until the marks are built
        return self._built


#: deeper nesting is refused: no pattern or pool needs it, and every later walk recurses
MAX_DEPTH = 64
#: values built again through aliases (and `<<` merges), in all; more is refused
MAX_ALIASED = 10_000
#: tags whose values runner keeps (others, such as ``!!binary``, are refused)
_KEPT = (str, int, float, bool, type(None))
_STR, _INT, _BOOL, _NULL, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null", "merge"))
_BOOLS: dict[str, bool] = yaml.constructor.SafeConstructor.bool_values


def load_yaml(text: str, source: str) -> YamlDoc:
    """Parse one YAML document. Raises SpecError for every problem (see the module docstring)."""
    try:
        doc = _load(text, source, marking=False)
    except (SpecError, _Again):  # report it with marks, exactly as a marking load does
        return _load(text, source, marking=True)
    tables = _Tables(text, source)
    return YamlDoc(doc.data, _Marks(dict(doc.marks), tables, 0), _Marks(dict(doc.value_marks), tables, 1))


class _Again(Exception):
    """The first (unmarked) pass met something it does not place itself: load again with marks."""


def _load(text: str, source: str, *, marking: bool) -> YamlDoc:
    loader = _Loader(text)
    builder = _Builder(loader, source, text, marking)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {"$": (1, 1)}, {"$": (1, 1)})
        data = builder.build(node, "$", 0)
    except _Stop as stop:
        raise SpecError([*builder.problems, stop.diagnostic]) from None
    except yaml.reader.ReaderError as exc:  # a control character, invalid UTF-8...
        line, col = _position(text, exc.position, byte_offset=_BYTE_OFFSETS)
        raise _fail(source, line, col, f"YAML error: {exc.reason} (character #x{exc.character:04x})"
                    if isinstance(exc.character, int) else f"YAML error: {exc.reason}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        what = "unsupported YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise _fail(source, line, col, f"{what}: {problem}") from None
    except (yaml.YAMLError, RecursionError) as exc:  # no mark: the start of the file
        raise _fail(source, 1, 1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    builder.marks["$"] = (1, 1)
    return YamlDoc(data, builder.marks, builder.value_marks)


def _fail(source: str, line: int, col: int, message: str) -> SpecError:
    one_line = " ".join(message.split())  # libyaml's messages may span lines
    return SpecError([Diagnostic(file=source, line=max(line, 1), col=max(col, 1), path="$", message=one_line)])


def _position(text: str, offset: int, *, byte_offset: bool) -> Mark:
    """1-based line and column of ``offset`` in ``text`` (libyaml counts UTF-8 bytes)."""
    if byte_offset:
        offset = len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore"))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Stop(Exception):
    """Building cannot go on (too deep, recursive, too many aliased values)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _Builder:
    """Turns a composed node tree into plain data, recording marks as it goes.

    A node met a second time is an alias (the composer shares the anchored node): its values
    count against ``MAX_ALIASED``, and a node met again while still being built is recursive.
    """

    def __init__(self, loader: Any, source: str, text: str, marking: bool) -> None:
        self.loader = loader
        self.marking = marking  # False: only the top level's marks (depth <= 2), problems raise _Again
        self.source = source
        self.text = text
        self.marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}
        self.problems: list[Diagnostic] = []
        self._built: set[int] = set()  # ids of nodes built at least once
        self._open: set[int] = set()  # ids of nodes being built (the current branch)
        self._aliased = 0  # values built through aliases so far
        self._inside_alias = 0  # > 0 while building an alias's value
        self._outer_alias: tuple[str, Mark] = ("$", (1, 1))  # the alias whose value is being built

    def build(self, node: yaml.Node, path: str, depth: int, at: Mark | None = None) -> Any:
        """The value of ``node`` at ``path``; ``at`` is where an alias to it was written."""
        if self.marking or depth <= 2:
            self.value_marks[path] = at or _mark(node)
            return self._value(node, path, depth, at)
        return self._plain(node, path, depth)

    def _plain(self, node: yaml.Node, path: str, depth: int) -> Any:
        """The value of ``node`` below the marked levels of the first pass (no marks, no paths
        kept: most of a file), in one tight walk. A node met before (an alias) and anything the
        walk does not place itself (a merge, a duplicate key) go the general way."""
        key = id(node)
        if key in self._built or depth > MAX_DEPTH:
            return self._value(node, path, depth, None)
        self._built.add(key)
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            return self._scalar(node, path, None)
        if cls is yaml.SequenceNode:
            return [self._plain(item, path, depth + 1) for item in node.value]
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag == _MERGE:
                raise _Again
            name = str(key_node.value)
            if name in out:
                raise _Again
            out[name] = self._plain(value_node, path, depth + 1)
        return out

    def _value(self, node: yaml.Node, path: str, depth: int, at: Mark | None) -> Any:
        if depth > MAX_DEPTH:
            self._stop(path, at or _mark(node), f"nested deeper than {MAX_DEPTH} levels")
        key = id(node)
        if key in self._open:
            self._stop(path, at or _mark(node), "recursive alias: the anchored value contains this alias")
        alias = key in self._built
        self._built.add(key)
        if alias and not self._inside_alias:
            self._outer_alias = (path, at or _mark(node))
        self._inside_alias += alias
        if self._inside_alias:
            self._aliased += 1
            if self._aliased > MAX_ALIASED:
                self._stop(*self._outer_alias,
                           f"aliases expand to more than {MAX_ALIASED} values in all (a YAML alias bomb?)")
        self._open.add(key)
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path, depth)
            return self._scalar(node, path, at)
        finally:
            self._open.discard(key)
            self._inside_alias -= alias

    def _sequence(self, node: yaml.SequenceNode, path: str, depth: int) -> list[Any]:
        out = []
        after = node.start_mark.index
        keep = self.marking or depth < 2  # the items' paths and marks
        for i, item in enumerate(node.value):
            sub = child_path(path, i) if keep else path
            at = self._alias_mark(item, after)
            if keep:
                self.marks[sub] = at or _mark(item)
            out.append(self.build(item, sub, depth + 1, at))
            after = max(after, item.end_mark.index) if at is None else self._after_alias(after)
        return out

    def _scalar(self, node: yaml.Node, path: str, at: Mark | None) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:  # what the str constructor returns, without it
            return text
        if tag == _INT and text.isdecimal() and text.isascii() and len(text) < 19 and (text[0] != "0" or text == "0"):
            return int(text)  # a plain decimal (YAML 1.1 reads a leading 0 as octal: the constructor's)
        if tag == _BOOL and (flag := _BOOLS.get(text.lower())) is not None:
            return flag
        if tag == _NULL:
            return None
        line, col = at or _mark(node)
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            message = "unsupported YAML: " + " ".join(str(exc.problem or exc.context or "").split())
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors fail on bad explicit values
            message = _bad_value(node, exc)  # with ValueError, KeyError (!!bool maybe), AttributeError...
        else:
            if isinstance(value, float) and value != value:
                message = "`.nan` (not a number) is not accepted"
            elif isinstance(value, _KEPT):
                return value
            elif node.tag == "tag:yaml.org,2002:timestamp":
                return str(node.value)  # a date stays the text it was written as: JSON has no dates
            else:
                message = f"values tagged `{_short(node.tag)}` are not supported"
        self.problems.append(Diagnostic(file=self.source, line=line, col=col, path=path, message=message))
        return None

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}  # from `<<: *anchor`; the mapping's own keys win
        first: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            at = self._alias_mark(value_node, key_node.end_mark.index)
            if key_node.tag == _MERGE:
                self._merge(value_node, path, depth, merged, at)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                self.problems.append(Diagnostic(file=self.source, line=line, col=col, path=path,
                                                message="keys must be plain strings"))
                continue
            key = str(key_node.value)
            if not self.marking:
                if key in out:  # a duplicate: placed by the marking pass
                    raise _Again
                sub = child_path(path, key) if depth < 2 else path
                if depth < 2:
                    self.marks[sub] = _mark(key_node)
                out[key] = self.build(value_node, sub, depth + 1, at)
                continue
            sub = child_path(path, key)
            if key in first:
                line, col = _mark(key_node)
                self.problems.append(Diagnostic(
                    file=self.source, line=line, col=col, path=sub,
                    message=f"duplicate key `{key}` (first at line {first[key][0]})"))
                continue
            first[key] = _mark(key_node)
            self.marks[sub] = first[key]
            out[key] = self.build(value_node, sub, depth + 1, at)
        if merged:
            return {**{k: v for k, v in merged.items() if k not in out}, **out}
        return out

    def _merge(self, node: yaml.Node, path: str, depth: int, merged: dict[str, Any], at: Mark | None) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) and at is None else [node]
        for src in sources:  # earlier sources win, as in YAML's merge-key spec
            if isinstance(src, yaml.SequenceNode):  # `<<: *list`: the aliased list's mappings
                self._merge(src, path, depth, merged, None)
                continue
            if not isinstance(src, yaml.MappingNode):
                line, col = at or _mark(src)
                self.problems.append(Diagnostic(file=self.source, line=line, col=col, path=path,
                                                message="`<<` merges only mappings"))
                continue
            for key, value in self._value(src, path, depth + 1, at).items():
                merged.setdefault(key, value)

    def _alias_mark(self, node: yaml.Node, after: int) -> Mark | None:
        """Where the alias to ``node`` is written, if ``node`` was built before (an alias): the
        first ``*`` after ``after`` (the previous item's end), past separators and comments."""
        if id(node) not in self._built:
            return None
        text, i, n = self.text, after, len(self.text)
        while i < n:
            c = text[i]
            if c == "#":
                i = text.find("\n", i)
                if i < 0:
                    return None
            elif c in " \t\r\n,-:?[{":
                i += 1
            elif c in "&!":  # the anchor or tag of the enclosing collection
                while i < n and not (text[i].isspace() or text[i] in "[{"):
                    i += 1
            else:
                break
        if i < n and text[i] == "*":
            self._last_alias = i
            return _position(self.text, i, byte_offset=False)
        return None

    def _after_alias(self, after: int) -> int:
        i = getattr(self, "_last_alias", after) + 1
        while i < len(self.text) and not (self.text[i].isspace() or self.text[i] in ",]}"):
            i += 1
        return i

    def _stop(self, path: str, mark: Mark, message: str) -> None:
        raise _Stop(Diagnostic(file=self.source, line=mark[0], col=mark[1], path=path, message=message))


def _bad_value(node: yaml.Node, exc: Exception) -> str:
    shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    if node.tag == "tag:yaml.org,2002:int" and "digits" in str(exc):
        return f"integer too large ({len(node.value)} characters; at most {sys.get_int_max_str_digits()} digits)"
    return f"`{shown}` is not a valid `{_short(node.tag)}` value"


def _short(tag: str) -> str:
    return "!!" + tag.rsplit(":", 1)[1] if tag.startswith("tag:yaml.org,2002:") else tag


def _mark(node: yaml.Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)
