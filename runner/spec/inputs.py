"""Pattern inputs: ``--input k=v`` strings and ``--input-file`` mappings → checked, typed values.

Types: ``string``, ``number``, ``integer``, ``boolean`` (true/false/yes/no/1/0), ``array`` and
``object`` (JSON on the command line). ``min``/``max`` bound numbers, and the length of strings
and arrays; ``pattern`` is a regex a string must match (``re.search``); ``enum`` lists the
allowed values. Every problem is reported at once in one SpecError.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, SpecError, UsageError
from runner.nearmiss import suggest
from runner.spec.diagnose import describe
from runner.spec.yamlload import load_yaml, mark_of

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_TYPE_NAMES = {"string": "a string", "number": "a number", "integer": "an integer",
               "boolean": "a boolean", "array": "a list", "object": "a mapping"}


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` (repeated ``--input`` options) → ``{"a": "1", "b": "x=y"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--input expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def coerce(text: str, type_: str) -> Any:
    """The command-line string ``text`` as a value of ``type_``; ValueError with a message if not."""
    raw = text.strip()
    if type_ == "string":
        return text
    if type_ == "integer":
        try:
            return int(raw)
        except ValueError:
            pass
    elif type_ == "number":
        try:
            number = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
        except ValueError:
            pass
        else:
            if isinstance(number, int) or math.isfinite(number):  # nan and inf are not numbers a pattern can use
                return number
    elif type_ == "boolean":
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ValueError(f'expected a boolean (true/false/yes/no/1/0), got "{text}"')
    elif type_ in ("array", "object"):
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValueError(f'expected {_TYPE_NAMES[type_]} written as JSON, got "{text}"') from None
        if _type_ok(value, type_):
            return value
    raise ValueError(f'expected {_TYPE_NAMES.get(type_, type_)}, got "{text}"')


def _type_ok(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "object":
        return isinstance(value, dict)
    return True


def check_value(value: Any, *, type: str = "string", enum: Sequence[Any] | None = None,  # noqa: A002
                min: float | None = None, max: float | None = None,  # noqa: A002
                pattern: str | None = None) -> str | None:
    """Why ``value`` does not fit the declared input, or None when it does."""
    if not _type_ok(value, type):
        return f"expected {_TYPE_NAMES.get(type, type)}, got {describe(value)}"
    if enum is not None and value not in enum:
        return "expected one of: " + ", ".join(json.dumps(e) for e in enum) + f", got {describe(value)}"
    if type in ("number", "integer"):
        size, what, got = value, "", describe(value)
    elif type in ("string", "array"):
        size, what = len(value), " characters" if type == "string" else " items"
        got = str(size)
    else:
        size = None
    if size is not None:
        if min is not None and size < min:
            return f"must be at least {min:g}{what}, got {got}"
        if max is not None and size > max:
            return f"must be at most {max:g}{what}, got {got}"
    if pattern is not None and type == "string":
        try:
            if not re.search(pattern, value):
                return f"must match the pattern {pattern}, got {describe(value)}"
        except re.error:
            return None  # the pattern itself is reported when the file is loaded
    return None


def resolve_inputs(pattern: Any, given: Mapping[str, str], files: Sequence[Path] = ()) -> dict[str, Any]:
    """The run's ``inputs``: every declared input, from --input-file(s), then --input, then defaults.

    Later sources override earlier ones. Optional inputs without a value are None (so that
    ``{% if inputs.x %}`` works under StrictUndefined). Raises SpecError listing every problem.
    """
    specs = {s.name: s for s in pattern.inputs}
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, str, int, int]] = {}  # name -> (file, path, line, col)
    problems: list[Diagnostic] = []

    def problem(file: str, path: str, line: int, col: int, message: str) -> None:
        problems.append(Diagnostic(file=file, line=line, col=col, path=path, message=message))

    for file in files:
        source = str(file)
        try:
            doc = load_yaml(Path(file).read_text(encoding="utf-8"), source)
        except OSError as exc:
            problem(source, "$", 0, 0, f"cannot read input file: {exc.strerror or exc}")
            continue
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        if not isinstance(doc.data, dict):
            problem(source, "$", 1, 1, "an input file must be a mapping of input names to values")
            continue
        for name, value in doc.data.items():
            path = f"$.{name}"
            line, col = mark_of(doc.marks, path)
            if name not in specs:
                problem(source, path, line, col, f"unknown input `{name}` ({suggest(name, specs)})")
                continue
            values[name] = value
            line, col = mark_of(doc.value_marks, path)
            where[name] = (source, path, line, col)

    for name, text in given.items():
        if name not in specs:
            problem("--input", name, 0, 0, f"unknown input `{name}` ({suggest(name, specs)})")
            continue
        try:
            values[name] = coerce(text, specs[name].type)
            where[name] = ("--input", name, 0, 0)
        except ValueError as exc:
            problem("--input", name, 0, 0, str(exc))
            values.pop(name, None)
            where[name] = ("", "", 0, 0)  # reported; don't also call it missing

    result: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in values:
            message = check_value(values[name], type=spec.type, enum=spec.enum, min=spec.min,
                                  max=spec.max, pattern=spec.pattern)
            if message:
                problem(*where[name], message)
            result[name] = values[name]
        elif name in where:
            continue
        elif spec.has_default:
            result[name] = spec.default
        elif spec.required:
            path = f"$.inputs.{name}"
            line, col = mark_of(dict(getattr(pattern, "marks", {}) or {}), path)
            problem(pattern.source, path, line, col,
                    f"missing required input `{name}` (give it with --input {name}=VALUE)")
        else:
            result[name] = None
    if problems:
        raise SpecError(problems)
    return result
