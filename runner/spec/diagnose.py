"""JSON Schema errors → human-readable Diagnostics at ``file:line:col``.

jsonschema's own messages (``'three' is not of type 'integer'``) are rewritten into what a
person wants to read (``expected an integer, got string "three"``); unknown keys get a near
miss (``unknown key `neds` (did you mean `needs`?)``); a missing key points at the mapping
that lacks it. Only the most relevant error per location is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from runner.errors import Diagnostic
from runner.nearmiss import suggest
from runner.resources import schema
from runner.spec.fastschema import is_valid
from runner.spec.units import unit_problem
from runner.spec.yamlload import Mark, child_path, mark_of

_ARTICLE = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
            "number": "a number", "boolean": "a boolean (true or false)", "null": "nothing"}


@cache
def _schema(name: str) -> Any:
    """Schema ``name``; ``pool#definition``: that schema's ``$defs`` entry."""
    base, _, part = name.partition("#")
    return schema(base)["$defs"][part] if part else schema(base)


@cache
def _validator(name: str) -> Any:
    """The jsonschema validator of schema ``name``, with runner's ``x-unit`` keyword."""
    from jsonschema import (  # lazy: cold start (only to describe a refused file)
        Draft202012Validator,
        validators,
    )

    # types-jsonschema leaves `extend` unannotated
    return validators.extend(Draft202012Validator, {"x-unit": _unit})(_schema(name))  # type: ignore[no-untyped-call]


def _unit(validator: Any, unit: str, instance: Any, schema: dict[str, Any]) -> Any:
    """``"x-unit": "duration"``: the value must parse as that unit, within its maximum
    (``runner.spec.units.unit_problem``)."""
    from jsonschema.exceptions import (  # lazy: cold start (only to describe a refused file)
        ValidationError,
    )


    problem = unit_problem(unit, instance, schema)
    if problem is not None:
        yield ValidationError(problem)


_PLUGIN_VALIDATORS: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, validator); schemas live forever


def schema_problems(schema: Any, data: Any) -> list[tuple[str, str, bool]]:
    """(path from ``$``, message, point-at-key?) for each problem of ``data`` against ``schema``
    (a plug-in's options schema), one per location."""
    if is_valid(schema, units=False)(data):  # the usual case, without jsonschema (see fastschema)
        return []
    entry = _PLUGIN_VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        from jsonschema import Draft202012Validator  # lazy: cold start (only to describe a refused file)

        entry = _PLUGIN_VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    out: dict[tuple[str, str], tuple[str, str, bool]] = {}
    for error in entry[1].iter_errors(data):
        for path, message, at_key in _translate(error):
            out.setdefault((path, message if message.startswith("missing required key") else ""),
                           (path, message, at_key))
    return list(out.values())


def schema_diagnostics(data: Any, schema_name: str, source: str,
                       marks: Mapping[str, Mark], value_marks: Mapping[str, Mark]) -> list[Diagnostic]:
    """Every schema problem of ``data`` (one per location), in file order."""
    if is_valid(_schema(schema_name))(data):  # the usual case, without jsonschema (see fastschema)
        return []
    out: dict[tuple[str, str], Diagnostic] = {}
    for error in _validator(schema_name).iter_errors(data):
        for path, message, at_key in _translate(error):
            # one message per location; only several missing keys of one mapping all count
            key = (path, message if message.startswith("missing required key") else "")
            if key in out:
                continue
            line, col = mark_of(marks if at_key or path not in value_marks else value_marks, path)
            out[key] = Diagnostic(file=source, line=line, col=col, path=path, message=message)
    return sorted(out.values(), key=lambda d: (d.line, d.col, d.path))


def describe(value: Any) -> str:
    """``string "three"``, ``integer 3``, ``a list``... for 'got ...' messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}" if value.bit_length() < 128 else f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."  # a whole task text helps nobody
        return "string " + json.dumps(shown, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def expected_types(types: str | list[str]) -> str:
    """``["number", "string"]`` → ``a number or a string``."""
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_ARTICLE.get(t, t) for t in names)


def _path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path = child_path(path, part)
    return path


def _translate(error: Any) -> list[tuple[str, str, bool]]:
    """(path, message, point-at-key?) for one jsonschema error; may yield several (unknown keys)."""
    from jsonschema.exceptions import best_match  # lazy: cold start (only to describe a refused file)

    path = _path(error.absolute_path)
    v, value, schema = error.validator, error.instance, error.schema
    if isinstance(schema, dict) and "x-message" in schema:  # the schema says it better itself
        where = list(error.schema_path)
        if "dependentSchemas" in where:  # point at the key that needs the others
            key = where[len(where) - where[::-1].index("dependentSchemas")]
            return [(child_path(path, key), schema["x-message"], True)]
        return [(path, schema["x-message"], False)]
    if v in ("anyOf", "oneOf") and error.context:
        return _translate(best_match(error.context))
    if v == "additionalProperties" and isinstance(value, dict):
        known = [k for k in schema.get("properties", {})]
        extra = [k for k in value if k not in known]
        if "properties" not in schema:  # a free-form mapping whose values are wrong: their own errors say why
            return []
        return [(child_path(path, k), f"unknown key `{k}` ({suggest(k, known)})", True) for k in extra]
    if v == "required":
        missing = [k for k in error.validator_value if isinstance(value, dict) and k not in value]
        return [(path, f"missing required key `{k}`", True) for k in missing]
    if v == "type":
        return [(path, f"expected {expected_types(error.validator_value)}, got {describe(value)}", False)]
    if v in ("enum", "const"):
        options = error.validator_value if v == "enum" else [error.validator_value]
        message = "expected " + ("one of: " if len(options) > 1 else "") + ", ".join(map(str, options))
        message += f", got {describe(value)}"
        if isinstance(value, str):
            hint = suggest(value, [str(o) for o in options])
            if hint.startswith("did you mean"):
                message += f" ({hint})"
        return [(path, message, False)]
    if v == "pattern" and "propertyNames" in error.schema_path:
        return [(child_path(path, str(value)), f"invalid name `{value}`: use {schema.get('x-expected')}", True)]
    if v == "pattern":
        expected = schema.get("x-expected") or f"a string matching {error.validator_value}"
        return [(path, f"expected {expected}, got {describe(value)}", False)]
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {"minimum": "at least", "exclusiveMinimum": "greater than",
                "maximum": "at most", "exclusiveMaximum": "less than"}[v]
        return [(path, f"must be {word} {error.validator_value:g}, got {describe(value)}", False)]
    if v == "minItems":
        n = error.validator_value
        return [(path, "must not be empty" if n == 1 else f"must have at least {n} items", False)]
    if v == "minLength":
        return [(path, "must not be empty", False)]
    if v == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        return [(path, f"give only one of: {', '.join(error.validator_value['required'])}", False)]
    if v == "maxProperties":
        return [(path, f"give at most {error.validator_value} of: {', '.join(schema.get('properties', {}))}", False)]
    return [(path, error.message, False)]


class Reporter:
    """Collects Diagnostics for one file, finding each path's line/column in the marks."""

    def __init__(self, source: str, marks: Mapping[str, Mark], value_marks: Mapping[str, Mark] | None = None):
        self.source = source
        self.marks = marks
        self.value_marks = value_marks or {}
        self.diagnostics: list[Diagnostic] = []

    def add(self, path: str, message: str, *, at_value: bool = False) -> None:
        """Report ``message`` at ``path`` (its key; its value with ``at_value``)."""
        table = self.value_marks if at_value and path in self.value_marks else self.marks
        line, col = mark_of(table, path)
        self.diagnostics.append(Diagnostic(file=self.source, line=line, col=col, path=path, message=message))
