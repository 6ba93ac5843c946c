"""What a program in a PTY printed: read in batches, decoded, ANSI-stripped into a bounded
transcript that waiters search (``PtySession.wait_for``) while the reader keeps appending."""

from __future__ import annotations

import codecs
import os
import re
import threading
import time
from collections.abc import Callable, Mapping

from runner.agents.ansi import AnsiStripper
from runner.agents.pty.proc import Hit
from runner.agents.pty.transcript import Transcript

# Characters before new output searched again (a match may span reads): each search costs the
# new text plus this, so a program printing hundreds of megabytes costs one pass, not dozens.
_OVERLAP = 4096
_BATCH = 1 << 20  # bytes read before they are handed on while a program prints without pause


def drain(fd: int) -> tuple[bytes, bool]:
    """What the terminal holds now, up to ``_BATCH`` bytes: one feed (and one wake-up of a
    waiter) per batch instead of per 4 KiB read. Returns (bytes, whether the terminal closed)."""
    chunks: list[bytes] = []
    size = 0
    while size < _BATCH:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        except OSError:  # EIO: every process closed the terminal
            return b"".join(chunks), True
        if not data:
            return b"".join(chunks), True
        chunks.append(data)
        size += len(data)
    return b"".join(chunks), False


def search(patterns: Mapping[str, re.Pattern[str]], text: str, offset: int, pos: int) -> Hit | None:
    """The earliest match of ``patterns`` in ``text`` from ``pos`` (ties: the first pattern),
    with absolute offsets (``text`` starts at ``offset``)."""
    best: Hit | None = None
    for name, pattern in patterns.items():
        m = pattern.search(text, pos)
        if m and (best is None or offset + m.start() < best.start):
            best = Hit(name, m.group(0), offset + m.start(), offset + m.end())
    return best


class Output:
    """The program's output so far. ``cond`` guards it: the reader notifies it on every feed
    and at the end (``eof``); ``on_output`` gets each raw (decoded) chunk, outside the lock."""

    def __init__(self, max_transcript: int, on_output: Callable[[str], None] | None) -> None:
        self.transcript = Transcript(max_transcript)
        self.cond = threading.Condition()
        self.on_output = on_output
        self.last = 0.0  # ``time.monotonic()`` of the last output (or of the start)
        self.eof = False  # all output has been read
        self._stripper = AnsiStripper()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes, final: bool = False) -> None:
        """Append a batch read off the terminal (``final``: the last, flushing what was held back)."""
        text = self._decoder.decode(data, final=final)
        clean = self._stripper.feed(text) + (self._stripper.flush() if final else "")
        with self.cond:
            if text:
                self.last = time.monotonic()
            self.transcript.append(clean)
            self.cond.notify_all()
        if text and self.on_output is not None:
            try:
                self.on_output(text)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the drain
                pass

    def end(self) -> None:
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return self.transcript.total

    def since(self, mark: int = 0, end: int | None = None) -> str:
        with self.cond:
            text = self.transcript.since(mark)
            if end is not None:
                text = text[: max(end - max(mark, self.transcript.first), 0)]
            return text

    def window(self, start: int, searched: int) -> tuple[str, int, int]:
        """The text to match (under the lock): what came after ``searched`` plus ``_OVERLAP``
        characters before it (a match may span reads), and one character of context so that
        ``^`` / ``\\b`` behave as in the full text. Returns (text, its offset, where to start)."""
        t = self.transcript
        begin = max(start, searched - _OVERLAP, t.first)
        pos = 1 if begin > t.first else 0
        return t.since(begin - pos), begin - pos, pos
