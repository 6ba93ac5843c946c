"""Bounds on what one run writes: an agent's transcript, and long text in events and JSON files.

An agent may print hundreds of megabytes; its log (``agents/<id>.log``) keeps the first
``transcript`` bytes, then one marker line, and says at the end how many bytes were dropped.
A string longer than ``text`` characters (a long answer, a big output) is cut in
``events.jsonl``, ``result.json`` and ``run.json``: the copy there keeps its head and names
the file under ``texts/`` that holds the whole of it (one file per distinct text).

Both are set by environment variables (sizes such as ``50M``, ``64K`` or plain bytes; ``0``
means no bound): ``RUNNER_TRANSCRIPT_LIMIT`` (default 50 MiB) and ``RUNNER_TEXT_LIMIT``
(default 100,000 characters).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.errors import ConfigurationError

TRANSCRIPT_ENV = "RUNNER_TRANSCRIPT_LIMIT"
TEXT_ENV = "RUNNER_TEXT_LIMIT"
TEXTS_DIR = "texts"
_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG])?(?:i?[bB])?\s*$")
_UNITS = {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True, kw_only=True)
class Caps:
    """``None``: unbounded."""

    transcript: int | None = 50 << 20  # bytes of one agent's log
    text: int | None = 100_000  # characters of one string in events / JSON files

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Caps:
        environ = os.environ if environ is None else environ
        default = cls()
        return cls(transcript=_size(environ, TRANSCRIPT_ENV, default.transcript),
                   text=_size(environ, TEXT_ENV, default.text))


def _size(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    m = _SIZE.match(raw)
    if not m:
        raise ConfigurationError(f"{name}=`{raw}`: expected a size such as 50M, 64K or 1000000 (0: no limit)")
    value = int(m.group(1)) * _UNITS[(m.group(2) or "").lower() or None]
    return value or None


def cutter(run_dir: Path, limit: int | None) -> Callable[[str], str]:
    """A function that cuts a string over ``limit`` characters (the caller checks the length:
    ``runner.journal.jsonable.Sanitizer``), the whole string written once to ``texts/<hash>.txt``."""

    def cut(text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
        name = f"{TEXTS_DIR}/{digest}.txt"
        path = run_dir / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8", errors="replace")
            os.replace(tmp, path)
        assert limit is not None
        return f"{text[:limit]}\n[runner: cut at {limit:,} of {len(text):,} characters; the whole text is in {name}]"

    return cut
