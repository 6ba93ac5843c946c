"""Logging for runner: JSON lines for machines, a short human line for terminals; always redacted.

Every record of the ``runner`` logger (and its children, ``runner.execute`` ...) carries the
context fields set with ``log_context`` (``runId``, ``patternName``, ``stepId``, ``agentId``,
``runtime``, ``type``). The context lives in a ``contextvars.ContextVar``: a thread started by
the executor does not inherit it, so wrap the worker in ``contextvars.copy_context().run`` or
enter ``log_context`` inside the worker.

JSON line: ``{"level": "info", "time": "2026-11-25T14:05:12.123Z", "msg": "...", "runId": ...}``;
keyword ``extra=`` fields of a log call are added too.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from runner.observe.redact import Redactor

LOGGER = "runner"
_ALIASES = {"run_id": "runId", "pattern_name": "patternName", "step_id": "stepId", "agent_id": "agentId"}
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("runner_log_context", default={})  # noqa: B039 - never mutated
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[dict[str, Any]]:
    """Add context fields to every record logged inside the block (nests; None removes a field).

    Accepts the camelCase names (``runId=``) or their snake_case aliases (``run_id=``).
    """
    merged = dict(_context.get())
    for key, value in fields.items():
        key = _ALIASES.get(key, key)
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: level, time (ISO-8601 UTC), msg, context, extra fields, exc."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"level": record.levelname.lower(), "time": _iso(record.created),
                               "msg": record.getMessage(), "logger": record.name}
        doc.update(getattr(record, "runner_context", None) or _context.get())
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "runner_context":
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(self.redactor.redact_obj(doc), default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """``14:05:12 INFO  [run step agent] message`` (colours on a terminal)."""

    COLORS = {"DEBUG": "\x1b[2m", "INFO": "", "WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m"}

    def __init__(self, redactor: Redactor | None = None, color: bool = False) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        ctx = getattr(record, "runner_context", None) or _context.get()
        where = " ".join(str(ctx[k]) for k in ("runId", "stepId", "agentId") if k in ctx)
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname:<7}"
        line += f" [{where}]" if where else ""
        line += " " + record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        line = self.redactor.redact(line)
        color = self.COLORS.get(record.levelname, "") if self.color else ""
        return f"{color}{line}\x1b[0m" if color else line


class _ContextFilter(logging.Filter):
    """Captures the context when the record is made (a queue/async handler may format later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.runner_context = _context.get()
        return True


def setup_logging(fmt: str | None = None, level: str | int = "info", redactor: Redactor | None = None,
                  stream: IO[str] | None = None) -> logging.Handler:
    """Send the ``runner`` logger to ``stream`` (stderr) as ``json`` or ``human`` lines.

    ``fmt=None`` picks human on a terminal, json otherwise. Calling it again replaces the
    handler it installed before (the CLI may call it once the pool's secrets are known).
    Returns the handler.
    """
    stream = stream or sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    fmt = fmt or ("human" if tty else "json")
    if fmt not in ("json", "human"):
        raise ValueError(f"log format must be json or human, not {fmt!r}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else HumanFormatter(redactor, color=tty))
    handler.addFilter(_ContextFilter())
    handler.runner_owned = True  # type: ignore[attr-defined]
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if getattr(h, "runner_owned", False)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False  # a root handler (e.g. a library's basicConfig) would print it twice
    return handler


def get_logger(name: str = "") -> logging.Logger:
    """``runner`` or a child of it (``get_logger("execute")`` → ``runner.execute``)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)
