"""Durations, memory sizes and CPU amounts as written in pattern and pool files.

``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1h30m"`` or a number of seconds → seconds (float);
``"512Mi"``, ``"1Gi"`` (powers of 1024), ``"1G"``, ``"100M"``, ``"64k"`` (powers of 1000) or a number
of bytes → bytes (int); ``1``, ``0.5`` or ``"500m"`` (millicores) → cores (float).
The schemas use the same regular expressions, so a file that passed validation always parses.
"""

from __future__ import annotations

import re

DURATION_RE = r"^\s*(\d+(\.\d+)?(ms|s|m|h))+\s*$|^\s*\d+(\.\d+)?\s*$"
MEMORY_RE = r"^\s*\d+(\.\d+)?\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?\s*$"
CPU_RE = r"^\s*\d+(\.\d+)?\s*m?\s*$"

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
        return float(value)
    return None


def parse_duration(value: str | float) -> float:
    """Seconds in ``value``; ValueError with a readable message when it is not a duration."""
    n = _number(value)
    if n is not None:
        return n
    if isinstance(value, str) and re.match(DURATION_RE, value):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            return sum(float(num) * _SECONDS[unit] for num, unit in _DURATION_PART.findall(text))
    raise ValueError(f"expected a duration such as 500ms, 30s, 5m or 1h, got {value!r}")


def parse_memory(value: str | int) -> int:
    """Bytes in ``value`` (``512Mi``, ``1G``, ``1048576``)."""
    n = _number(value)
    if n is not None:
        return int(n)
    if isinstance(value, str) and re.match(MEMORY_RE, value):
        m = _MEMORY.fullmatch(value.strip().replace(" ", ""))
        if m:
            return int(float(m.group(1)) * _BYTES[m.group(2) or ""])
    raise ValueError(f"expected a memory size such as 512Mi, 1Gi or 100M, got {value!r}")


def parse_cpu(value: str | float) -> float:
    """Cores in ``value`` (``1``, ``0.5``, ``"500m"``)."""
    n = _number(value)
    if n is not None:
        return n
    if isinstance(value, str) and re.match(CPU_RE, value):
        text = value.strip()
        if text.endswith("m"):
            return float(text[:-1].strip()) / 1000.0
        return float(text)
    raise ValueError(f"expected a CPU amount such as 1, 0.5 or 500m, got {value!r}")
