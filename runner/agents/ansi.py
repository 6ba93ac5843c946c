"""Terminal escape sequences out of program output, for matching and parsing.

Agent CLIs colour, move the cursor, set window titles (OSC) and query the terminal; the
regexes of agent types and the answer parser want plain text. ``strip_ansi`` cleans one
complete string; ``AnsiStripper`` does the same for a stream whose chunks may split an
escape sequence (or a ``\\r\\n``) in two.
"""

from __future__ import annotations

import re

# CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, then any other ESC + final byte
# (two-byte sequences such as ESC 7, ESC =, charset selections ESC ( B).
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Control characters that carry no text (keeps \t, \n and \r).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A sequence longer than this without its end is junk, not a sequence split by a read.
_MAX_PENDING = 4096


def strip_ansi(text: str) -> str:
    """``text`` without escape sequences and control characters; ``\\r\\n`` becomes ``\\n``.

    U+00A0 (claude's prompt uses it) becomes a plain space so that prompts match simply.
    """
    if "\x1b" in text or "\x9b" in text:  # a plain scan first: most output has no sequence
        text = _ESCAPE.sub("", text)
    text = _CONTROL.sub("", text)
    return text.replace("\r\n", "\n").replace("\u00a0", " ")


class AnsiStripper:
    """Streaming ``strip_ansi``: holds back an escape sequence split across chunks."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Clean text of ``chunk`` that is complete so far."""
        text = self._pending + chunk
        self._pending = ""
        esc = text.rfind("\x1b")
        if esc >= 0 and not _ESCAPE.match(text, esc) and len(text) - esc < _MAX_PENDING:
            text, self._pending = text[:esc], text[esc:]
        if text.endswith("\r"):  # the "\n" of a "\r\n" may come with the next read
            text, self._pending = text[:-1], "\r" + self._pending
        return strip_ansi(text)

    def flush(self) -> str:
        """Whatever is held back, cleaned (at end of stream)."""
        text, self._pending = self._pending, ""
        return strip_ansi(text)
