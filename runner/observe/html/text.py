"""Text for the HTML report: escaped, redacted, without control characters, bounded in size.

Every value a run produced (answers, tasks, errors, transcripts) reaches the page through
``esc`` or ``pre``: HTML-escaped, so an answer holding ``<b>`` or ``</script>`` shows as text
and is never markup.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from runner.observe.redact import Redactor

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
# control characters a page should not hold (tab and newline stay)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
#: most characters one value (an answer, a task) shows before it is cut with a note
VALUE_LIMIT = 20_000


def clean(value: Any, redactor: Redactor, limit: int | None = VALUE_LIMIT) -> str:
    """``value`` as redacted text (JSON for structures), control characters and escapes removed."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, indent=1)
    text = _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    text = redactor.redact(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"
    return text


def esc(value: Any, redactor: Redactor, limit: int | None = VALUE_LIMIT) -> str:
    """``clean(value)`` escaped for HTML text and attribute values."""
    return html.escape(clean(value, redactor, limit), quote=True)


def pre(value: Any, redactor: Redactor, limit: int | None = VALUE_LIMIT, cls: str = "") -> str:
    """A ``<pre>`` block of ``value`` (empty string when there is nothing to show)."""
    text = esc(value, redactor, limit)
    return f'<pre class="{cls}">{text}</pre>' if text else ""


def diff_block(value: Any, redactor: Redactor) -> str:
    """A unified diff with added/removed lines marked (``<ins>``/``<del>`` as CSS classes only)."""
    lines = []
    for line in clean(value, redactor).split("\n"):
        cls = ("add" if line.startswith("+") and not line.startswith("+++") else
               "del" if line.startswith("-") and not line.startswith("---") else
               "hunk" if line.startswith("@@") else "")
        lines.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def read_head(path: Path, limit: int) -> tuple[str, int]:
    """The first ``limit`` bytes of a file as text, and the file's size (0 when unreadable)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(0)
            data = f.read(limit)
    except OSError:
        return "", 0
    return data.decode("utf-8", "replace"), size


def read_tail(path: Path, limit: int) -> tuple[str, int]:
    """The last ``limit`` bytes of a file as text, and the file's size (0 when unreadable)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError:
        return "", 0
    if size > limit:  # start at a whole line
        cut = data.find(b"\n")
        data = data[cut + 1:] if 0 <= cut < 4096 else data
    return data.decode("utf-8", "replace"), size


def size_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
