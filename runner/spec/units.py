"""Durations, memory sizes and CPU amounts as written in pattern and pool files.

``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1h30m"`` or a number of seconds → seconds (float);
``"512Mi"``, ``"1Gi"`` (powers of 1024), ``"1G"``, ``"100M"``, ``"64k"`` (powers of 1000) or a number
of bytes → bytes (int); ``1``, ``0.5`` or ``"500m"`` (millicores) → cores (float).
The schemas use the same regular expressions, so a file that passed validation always parses.

Each unit has a documented maximum (``MAX_DURATION`` 30 days, ``MAX_MEMORY`` 16Ti, ``MAX_CPU`` 1024
cores): a larger value is a ValueError, not a timer that overflows at run time. The schemas mark
these fields with ``"x-unit"``, which the validator checks with the same functions (``UNITS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

DURATION_RE = r"^\s*(\d+(\.\d+)?(ms|s|m|h))+\s*$|^\s*\d+(\.\d+)?\s*$"
MEMORY_RE = r"^\s*\d+(\.\d+)?\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?\s*$"
CPU_RE = r"^\s*\d+(\.\d+)?\s*m?\s*$"

MAX_DURATION = 30 * 24 * 3600.0  # 30 days: far above any run, far below threading's TIMEOUT_MAX
MAX_MEMORY = 16 * 1024**4  # 16Ti
MAX_CPU = 1024.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_BYTES = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
          "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?")


def _number(value: object) -> float | None:
    # bool is an int in Python, but `timeout: true` is a mistake, not one second
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int of hundreds of digits: over every maximum anyway
            return math.inf if value > 0 else -math.inf
    return None


def _bounded(amount: float, most: float, value: object, most_text: str) -> float:
    # `not <=` also refuses NaN, which every comparison lets through
    if not 0 <= amount <= most:
        what = "not a number" if amount != amount else "negative" if amount < 0 else f"more than the maximum, {most_text}"
        shown = _show(value)
        raise ValueError(f"{shown if shown.startswith('a ') else f'`{shown}`'} is {what}")
    return amount


def _show(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 128:  # str() of a huge int is slow, or refused
        return f"a {'negative ' if value < 0 else ''}number of about {int(value.bit_length() * 0.30103)} digits"
    text = f"{value:g}" if isinstance(value, float) else str(value) if isinstance(value, str | int) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_duration(value: str | float) -> float:
    """Seconds in ``value``; ValueError with a readable message when it is not a duration (or is
    negative, or longer than ``MAX_DURATION``)."""
    n = _number(value)
    if n is None:
        if not (isinstance(value, str) and re.match(DURATION_RE, value)):
            raise ValueError(f"expected a duration such as 500ms, 30s, 5m or 1h, got {value!r}")
        text = value.strip()
        try:
            n = float(text)
        except ValueError:
            n = sum(float(num) * _SECONDS[unit] for num, unit in _DURATION_PART.findall(text))
    return _bounded(n, MAX_DURATION, value, "30 days (720h)")


def optional_duration(value: str | float | None) -> float | None:
    """``parse_duration``, with None (the key was not given) passed through."""
    return None if value is None else parse_duration(value)


def parse_memory(value: str | int) -> int:
    """Bytes in ``value`` (``512Mi``, ``1G``, ``1048576``)."""
    n = _number(value)
    if n is None and isinstance(value, str) and re.match(MEMORY_RE, value):
        m = _MEMORY.fullmatch(value.strip().replace(" ", ""))
        if m:
            n = float(m.group(1)) * _BYTES[m.group(2) or ""]
    if n is None:
        raise ValueError(f"expected a memory size such as 512Mi, 1Gi or 100M, got {value!r}")
    return int(_bounded(n, MAX_MEMORY, value, "16Ti"))


def parse_cpu(value: str | float) -> float:
    """Cores in ``value`` (``1``, ``0.5``, ``"500m"``)."""
    n = _number(value)
    if n is None and isinstance(value, str) and re.match(CPU_RE, value):
        text = value.strip()
        n = float(text[:-1].strip()) / 1000.0 if text.endswith("m") else float(text)
    if n is None:
        raise ValueError(f"expected a CPU amount such as 1, 0.5 or 500m, got {value!r}")
    return _bounded(n, MAX_CPU, value, "1024 cores")


#: the schemas' ``"x-unit"`` names → the parser that checks the value (and its bound)
UNITS: dict[str, Callable[[Any], float | int]] = {"duration": parse_duration, "memory": parse_memory, "cpu": parse_cpu}


def unit_problem(unit: str, value: Any, schema: dict[str, Any]) -> str | None:
    """What is wrong with ``value`` in a schema field marked ``"x-unit": unit``, or None. A wrong type
    or shape (``expected ...``) is None: the field's type and pattern keywords say it more clearly."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = UNITS[unit](value)
    except ValueError as exc:
        return None if str(exc).startswith("expected ") else str(exc)
    low = schema.get("exclusiveMinimum")  # a number is checked by the keyword itself; "0s" here
    if isinstance(value, str) and low is not None and isinstance(amount, int | float) and amount <= low:
        return f"must be greater than {low:g}, got {value!r}"
    return None
