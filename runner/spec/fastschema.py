"""A yes/no JSON Schema check, compiled once per schema into closures: the fast path of validation.

jsonschema builds an error tree and walks ``$ref``s through its registry on every value, and its
import alone costs a cold command ~0.1 s. Most files are valid, so ``is_valid(schema)(data)`` asks
only "any problem?"; jsonschema runs (and is imported) only to describe the problems of a file
this check refuses (``runner.spec.diagnose``)::

    ok = is_valid(schema)          # compiled once per schema object, then cached
    if not ok(data):
        ...jsonschema explains...

It is never looser than jsonschema: a keyword it does not know, a ``$ref`` it cannot resolve or a
``oneOf``/``not``/``if`` over such a part compiles to "not valid", which sends the file to
jsonschema. Where it answers, it answers exactly as Draft 2020-12 with runner's ``x-unit`` does
(tests/spec/test_fastschema.py compares the two over every schema and sample file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from runner.spec.units import unit_problem

Check = Callable[[Any], bool]

#: keywords that only annotate (``format`` is not asserted: jsonschema runs without a format checker)
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples",
                          "format", "deprecated", "readOnly", "writeOnly", "x-message", "x-expected",
                          "then", "else", "properties", "patternProperties", "additionalProperties"})
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}
_CACHE: dict[tuple[int, bool], tuple[Any, Check]] = {}  # (id(schema), units) -> (schema, check); schemas live forever


def is_valid(schema: Any, *, units: bool = True) -> Check:
    """The compiled check of ``schema`` (its ``$ref``s resolve against ``schema`` itself);
    ``units``: check runner's ``x-unit`` keyword (plug-in option schemas are plain JSON Schema)."""
    key = (id(schema), units)
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not schema:
        entry = _CACHE[key] = (schema, _Compiler(schema, units).compile(schema)[0])
    return entry[1]


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool | None:
    """jsonschema's equality for scalars (``True`` is not ``1``); None: not a scalar, unknown here."""
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


class _Compiler:
    def __init__(self, root: Any, units: bool) -> None:
        self.root = root
        self.units = units
        self.refs: dict[str, list[Any]] = {}  # "#/$defs/x" -> [check, exact?] once compiled; [] while compiling

    def compile(self, schema: Any) -> tuple[Check, bool]:
        """(check, exact?): not exact = may say False where jsonschema finds nothing."""
        if schema is True:
            return _always, True
        if schema is False:
            return _never, True
        if not isinstance(schema, dict):
            return _never, False
        checks: list[Check] = []
        exact = True
        for key, value in schema.items():
            if key in _ANNOTATIONS:
                continue
            made = self._keyword(key, value, schema)
            if made is None:
                return _never, False
            check, ok = made
            exact = exact and ok
            checks.append(check)
        if {"properties", "patternProperties", "additionalProperties"} & schema.keys():
            check, ok = self._object(schema)
            checks.append(check)
            exact = exact and ok
        return _all(checks), exact

    def _keyword(self, key: str, value: Any, schema: dict[str, Any]) -> tuple[Check, bool] | None:
        if key == "type":
            names = [value] if isinstance(value, str) else value
            if not all(n in _TYPES for n in names):
                return None
            tests = [_TYPES[n] for n in names]
            return (tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests)), True
        if key in ("enum", "const"):
            options = value if key == "enum" else [value]
            if not isinstance(options, list) or any(isinstance(o, list | dict) for o in options):
                return None
            if all(isinstance(o, str) for o in options):
                strings = frozenset(options)
                return (lambda v: isinstance(v, str) and v in strings), True
            return (lambda v: any(_equal(v, o) for o in options)), True
        if key == "pattern":
            rx = re.compile(value)
            return (lambda v: not isinstance(v, str) or rx.search(v) is not None), True
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return _bound(key, value), True
        if key == "minLength":
            return (lambda v: not isinstance(v, str) or len(v) >= value), True
        if key == "minItems":
            return (lambda v: not isinstance(v, list) or len(v) >= value), True
        if key == "maxProperties":
            return (lambda v: not isinstance(v, dict) or len(v) <= value), True
        if key == "required":
            names = tuple(value)
            return (lambda v: not isinstance(v, dict) or all(n in v for n in names)), True
        if key == "items":
            item, exact = self.compile(value)
            return (lambda v: not isinstance(v, list) or all(map(item, v))), exact
        if key == "propertyNames":
            name, exact = self.compile(value)
            return (lambda v: not isinstance(v, dict) or all(map(name, v))), exact
        if key == "dependentSchemas":
            deps = [(k, *self.compile(s)) for k, s in value.items()]
            return ((lambda v: not isinstance(v, dict) or all(c(v) for k, c, _ in deps if k in v)),
                    all(e for _, _, e in deps))
        if key == "$ref":
            return self._ref(value)
        if key == "anyOf":  # monotone: a branch that answers True is right even if not exact
            branches = [self.compile(s) for s in value]
            tests = [c for c, _ in branches]
            return (lambda v: any(t(v) for t in tests)), all(e for _, e in branches)
        if key == "oneOf":
            branches = [self.compile(s) for s in value]
            if not all(e for _, e in branches):
                return None
            tests = [c for c, _ in branches]
            return (lambda v: sum(1 for t in tests if t(v)) == 1), True
        if key == "not":
            inner, exact = self.compile(value)
            return ((lambda v: not inner(v)), True) if exact else None
        if key == "if":
            cond, exact = self.compile(value)
            then, e1 = self.compile(schema.get("then", True))
            other, e2 = self.compile(schema.get("else", True))
            if not exact:
                return None
            return (lambda v: then(v) if cond(v) else other(v)), e1 and e2
        if key == "x-unit" and not self.units:
            return _always, True
        if key == "x-unit":
            return (lambda v: unit_problem(value, v, schema) is None), True
        return None  # a keyword this check does not know: jsonschema decides

    def _object(self, schema: dict[str, Any]) -> tuple[Check, bool]:
        props = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        exact = all(e for _, e in props.values())
        checks = {k: c for k, (c, _) in props.items()}
        patterns = [(re.compile(p), *self.compile(s)) for p, s in schema.get("patternProperties", {}).items()]
        exact = exact and all(e for _, _, e in patterns)
        extra, e = self.compile(schema.get("additionalProperties", True))
        exact = exact and e
        if patterns:
            def check(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for k, x in v.items():
                    c = checks.get(k)
                    if c is not None and not c(x):
                        return False
                    hits = [p for p in patterns if p[0].search(k)]
                    if any(not p[1](x) for p in hits) or (c is None and not hits and not extra(x)):
                        return False
                return True
            return check, exact

        def plain(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, x in v.items():
                c = checks.get(k, extra)
                if not c(x):
                    return False
            return True
        return plain, exact

    def _ref(self, ref: str) -> tuple[Check, bool] | None:
        if not ref.startswith("#/$defs/") or "/" in ref[8:]:
            return None
        defs = self.root.get("$defs", {}) if isinstance(self.root, dict) else {}
        if ref[8:] not in defs:
            return None
        if ref not in self.refs:
            cell: list[Any] = []
            self.refs[ref] = cell
            cell.extend(self.compile(defs[ref[8:]]))
        cell = self.refs[ref]
        # a recursive $ref (its target still compiling) is not known to be exact
        return (lambda v: cell[0](v)), bool(cell) and cell[1]


def _bound(key: str, limit: Any) -> Check:
    if key == "minimum":
        return lambda v: not _number(v) or v >= limit
    if key == "maximum":
        return lambda v: not _number(v) or v <= limit
    if key == "exclusiveMinimum":
        return lambda v: not _number(v) or v > limit
    return lambda v: not _number(v) or v < limit


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    return lambda v: all(c(v) for c in checks)
