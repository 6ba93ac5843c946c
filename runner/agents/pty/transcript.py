"""A bounded, append-only text buffer addressed by absolute offsets ("marks").

Some agent CLIs print megabytes (spinners redraw for minutes); the transcript keeps the last
``limit`` characters and drops the oldest. Offsets stay absolute, so a mark taken before a
task still means the same position after old text was dropped.
"""

from __future__ import annotations

import bisect

_COALESCE = 8192  # small reads are merged into one chunk so lookups stay cheap


class Transcript:
    """Not thread-safe: the owner (``PtySession``) serialises access."""

    def __init__(self, limit: int = 4_000_000) -> None:
        self.limit = limit
        self._chunks: list[str] = []
        self._starts: list[int] = []  # absolute offset of each chunk's first character
        self.total = 0  # characters ever appended (the current end mark)

    @property
    def first(self) -> int:
        """Offset of the oldest character still kept."""
        return self._starts[0] if self._starts else self.total

    def append(self, text: str) -> None:
        if not text:
            return
        if len(text) >= self.limit:  # a read larger than the whole limit: keep its end only
            skip = len(text) - self.limit
            self._chunks, self._starts = [text[skip:]], [self.total + skip]
            self.total += len(text)
            return
        if self._chunks and len(self._chunks[-1]) < _COALESCE and len(text) < _COALESCE:
            self._chunks[-1] += text
        else:
            self._chunks.append(text)
            self._starts.append(self.total)
        self.total += len(text)
        while len(self._chunks) > 1 and self.total - self._starts[1] >= self.limit:
            del self._chunks[0], self._starts[0]

    def since(self, mark: int) -> str:
        """The text from ``mark`` (or from the oldest kept character) to the end."""
        mark = max(mark, self.first)
        if mark >= self.total:
            return ""
        i = bisect.bisect_right(self._starts, mark) - 1
        head = self._chunks[i][mark - self._starts[i]:]
        return head + "".join(self._chunks[i + 1:])
