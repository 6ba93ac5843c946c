"""Making any value safe to write as JSON, with every string passed through a redaction hook.

``Sanitizer(redact)(value)`` returns plain JSON data: enums → their value, dataclasses and
mappings → objects (keys made strings), sets/tuples → lists, bytes → text (UTF-8, bad bytes
replaced), NaN/±inf → ``"nan"``/``"inf"``, anything else → ``str()``. It never raises: a value
that cannot even be ``str()``-ed becomes ``<unprintable T>``, and a redactor that raises
replaces its string with ``[redaction failed]`` (rather than leak what it failed on).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import PurePath
from typing import Any

__all__ = ["Redact", "Sanitizer", "dumps_line", "epoch", "iso_time"]

Redact = Callable[[str], str]
_MAX_DEPTH = 64

_time_cache: tuple[int, str] = (-1, "")


def iso_time(t: float | None = None) -> str:
    """``2026-11-25T14:05:12.345Z`` for ``t`` (default: now)."""
    global _time_cache
    if t is None:
        t = time.time()
    sec = int(t)
    cached_sec, prefix = _time_cache  # one tuple: safe to read while another thread replaces it
    if sec != cached_sec:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _time_cache = (sec, prefix)
    return f"{prefix}.{int((t - sec) * 1000):03d}Z"


def epoch(iso: Any) -> float | None:
    """An ISO-8601 time (``...Z``) as seconds since the epoch; ``None`` when it is not one."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Sanitizer:
    """Makes any value JSON-able and passes every string through ``redact`` (see module doc).

    ``cut``: a string value (not a key) longer than ``limit`` characters is replaced by
    ``cut(string)`` once redacted (``runner.journal.caps``), in the same walk.
    """

    def __init__(self, redact: Redact | None, cut: Callable[[str], str] | None = None,
                 limit: int | None = None) -> None:
        self.redact = redact
        self._cut = cut if limit is not None else None
        self._limit = limit if cut is not None and limit is not None else sys.maxsize

    def text(self, s: str) -> str:
        if self.redact is None:
            return s
        try:
            return self.redact(s)
        except Exception:  # a broken redactor must not leak what it failed on
            return "[redaction failed]"

    def leaf(self, s: str) -> str:
        """A string value: redacted, then cut when too long."""
        s = self.text(s)
        return s if len(s) <= self._limit else self._cut(s)  # type: ignore[misc]

    def __call__(self, v: Any, depth: int = 0) -> Any:
        t = type(v)
        if t is str:
            return self.leaf(v)
        if v is None or t is int or t is bool:
            return v
        if t is float:
            return v if math.isfinite(v) else str(v)
        if depth > _MAX_DEPTH:  # cycles and absurd nesting end here
            return self.leaf(_safe_str(v))
        d = depth + 1
        if t is dict or isinstance(v, Mapping):
            return self._object(v, d)
        if t is list or isinstance(v, list | tuple | set | frozenset):
            return self._array(v, d)
        if isinstance(v, enum.Enum):
            return self(v.value, d)
        if isinstance(v, str):  # subclasses: their own __str__ may say anything
            return self.leaf(str.__str__(v))
        if isinstance(v, int):
            return int.__index__(v)
        if isinstance(v, float):
            return self(float.__float__(v), d)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: self(getattr(v, f.name, None), d) for f in dataclasses.fields(v)}
        if isinstance(v, bytes | bytearray):
            return self.leaf(bytes(v).decode("utf-8", "replace"))
        if isinstance(v, PurePath):
            return self.leaf(str(v))
        return self.leaf(_safe_str(v))

    def fields(self, fields: Mapping[Any, Any]) -> dict[str, Any]:
        """The fields of an event (a mapping's keys and values), as ``__call__`` makes a mapping."""
        return self._object(fields, 1)

    # The walks below handle the common leaves (plain str, int, bool, None) inline: a call per
    # leaf was most of the cost of writing a big result.json.
    def _object(self, v: Mapping[Any, Any], d: int) -> dict[str, Any]:
        plain, limit = self.redact is None, self._limit
        out = {}
        for k, x in v.items():
            if not plain or type(k) is not str:
                k = self._key(k)
            t = type(x)
            if t is str:
                if not plain or len(x) > limit:
                    x = self.leaf(x)
            elif not (x is None or t is int or t is bool):
                x = self(x, d)
            out[k] = x
        return out

    def _array(self, v: Any, d: int) -> list[Any]:
        plain, limit = self.redact is None, self._limit
        out = []
        for x in v:
            t = type(x)
            if t is str:
                if not plain or len(x) > limit:
                    x = self.leaf(x)
            elif not (x is None or t is int or t is bool):
                x = self(x, d)
            out.append(x)
        return out

    def _key(self, k: Any) -> str:
        if isinstance(k, enum.Enum):
            k = k.value
        return self.text(k if type(k) is str else _safe_str(k))


def _safe_str(v: Any) -> str:
    try:
        return str(v)
    except Exception:
        return f"<unprintable {type(v).__name__}>"


_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder: json.dumps builds one per call


def dumps_line(obj: Any) -> bytes:
    return (_LINE.encode(obj) + "\n").encode("utf-8", "replace")
