"""Screen-state detection for full-screen agent CLIs: render the PTY, read the title, classify.

The real CLIs redraw with cursor moves (claude separates words with ``ESC[9G``, codex uses
the alternate screen), so regexes on the raw stream fail. ``ScreenDetector`` feeds the raw
output through a terminal emulator (pyte), keeps the OSC 0 window title the CLIs set, and
classifies the rendered screen + title with an ordered rule table (``screens/<cli>.yaml``,
one table per CLI and version range) into::

    starting | dialog | ready | login_required | approval | busy | done | error

Terminal queries (DA1, CPR, OSC 10/11, kitty) are deliberately never answered: a late
answer is read as keystrokes (shared/AGENT-CLIS.md §2).
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from dataclasses import dataclass

import pyte

from runner.agents.types.screentable import Rule, ScreenTable

STATES = ("starting", "dialog", "ready", "login_required", "approval", "busy", "done", "error")

# Kitty keyboard / XTVERSION / modifyOtherKeys sequences pyte does not know: they would
# leave stray `u`/`q` characters on the screen.
_UNKNOWN_CSI = re.compile(r"\x1b\[(?:[<>=][\d;]*[a-zA-Z]|\?[\d;]*u)")
_PARTIAL_TAIL = re.compile(r"\x1b(?:\[[\d;<>=?]*)?$")
# Synchronized output (codex): a frame between `?2026h` and `?2026l` is half drawn.
_SYNC = re.compile(r"\x1b\[\?2026([hl])")
_SYNC_MAX = 1.0  # s: classify anyway if a frame never ends


class TermScreen(pyte.Screen):
    """pyte's Screen, tolerant of the private SGR (``ESC[>4;0m``) codex sends."""

    def select_graphic_rendition(self, *attrs: int, private: bool = False, **_: object) -> None:
        if not private:
            super().select_graphic_rendition(*attrs)


@dataclass(frozen=True, kw_only=True)
class Classification:
    """What the screen shows now: a state, the rule that said so, and text for humans."""

    state: str
    rule: str = ""  # the rule's name in the table
    text: str = ""  # the matched line (or the instruction: URL, command to run)
    title: str = ""


class ScreenDetector:
    """Consumes raw PTY output (bytes or text) and tells the CLI's state. Thread-safe."""

    def __init__(self, table: ScreenTable, columns: int = 120, lines: int = 40) -> None:
        self.table = table
        self.screen = TermScreen(columns, lines)
        self._stream = pyte.Stream(self.screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._carry = ""
        self.turns = 0  # completed turns seen (one per answered task)
        self._last = "starting"
        self._sync_since: float | None = None  # inside a synchronized frame since (monotonic)
        self._stable: Classification | None = None  # the last classification of a whole frame
        self._stable_text: str | None = None
        self._lock = threading.RLock()

    def feed(self, data: bytes | str) -> Classification:
        """Render more output; returns the classification after it."""
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        with self._lock:
            text = self._carry + text
            m = _PARTIAL_TAIL.search(text)
            self._carry, text = (text[m.start():], text[: m.start()]) if m else ("", text)
            self._stream.feed(_UNKNOWN_CSI.sub("", text))
            for m in _SYNC.finditer(text):
                self._sync_since = time.monotonic() if m.group(1) == "h" else None
            if self._mid_frame():
                return self._stable or Classification(state="starting")
            result = self._stable = self._classify()
            # A completed turn: busy/approval → done/ready (a redraw may flash ready ↔ done).
            if result.state in ("done", "ready") and self._last in ("busy", "approval"):
                self.turns += 1
            self._last = result.state
            return result

    def classify(self) -> Classification:
        with self._lock:
            if self._mid_frame():
                return self._stable or Classification(state="starting")
            return self._classify()

    def _mid_frame(self) -> bool:
        return self._sync_since is not None and time.monotonic() - self._sync_since < _SYNC_MAX

    def text(self) -> str:
        """The rendered screen, one line per row, NBSP normalised, right-stripped (the last
        whole frame while a synchronized frame is being drawn)."""
        with self._lock:
            if self._mid_frame() and self._stable_text is not None:
                return self._stable_text
            return self._live_text()

    def _live_text(self) -> str:
        return "\n".join(line.replace("\u00a0", " ").rstrip() for line in self.screen.display)

    def done_lines(self) -> list[str]:
        """Screen lines that mark a finished turn (the table's ``done`` rules), top to bottom."""
        rules = [r.screen for r in self.table.rules if r.state == "done" and r.screen is not None]
        return [line for line in self.text().split("\n") if any(rx.search(line) for rx in rules)]

    def _classify(self) -> Classification:
        screen = self._stable_text = self._live_text()
        title = (self.screen.title or "").strip()
        for rule in self.table.rules:
            hit = _match(rule, screen, title)
            if hit is not None:
                return Classification(state=rule.state, rule=rule.name, text=_instruction(rule, screen, hit),
                                      title=title)
        return Classification(state="starting", title=title)


def _match(rule: Rule, screen: str, title: str) -> re.Match[str] | None:
    if rule.title is not None and not rule.title.search(title):
        return None
    if rule.absent is not None and rule.absent.search(screen):
        return None
    if rule.screen is None:
        return rule.title.search(title) if rule.title is not None else None
    return rule.screen.search(screen)


def _instruction(rule: Rule, screen: str, hit: re.Match[str]) -> str:
    """The matched screen line, plus what the rule's ``instruction`` regex finds (a URL...)."""
    if hit.string is screen:
        start = screen.rfind("\n", 0, hit.start()) + 1
        end = screen.find("\n", hit.start())
        line = screen[start: end if end >= 0 else None].strip(" │┃")
    else:
        line = hit.string
    if rule.instruction is not None:
        extra = [m.group(0) for m in rule.instruction.finditer(screen)]
        if extra:
            unwrapped = " ".join(extra)
            return f"{line} {unwrapped}" if unwrapped not in line else line
    return line


def extract_answer(screen: str, table: ScreenTable) -> str | None:
    """The last answer block on a rendered screen (``answer.start`` up to ``answer.end``),
    bullet and hanging indent removed; None when the table has no answer markers or none shows."""
    if table.answer_start is None:
        return None
    lines = screen.split("\n")
    end = len(lines)
    if table.answer_end is not None:
        ends = [i for i, line in enumerate(lines) if table.answer_end.search(line)]
        if ends:
            end = ends[-1]
    starts = [i for i in range(end) if table.answer_start.search(lines[i])]
    if not starts:
        return None
    block = lines[starts[-1]:end]
    block[0] = table.answer_start.sub("", block[0], count=1)
    out = []
    for line in block:
        if table.answer_start.search(line):
            break  # a following tool/status block
        out.append(line[2:] if line.startswith("  ") else line)
    return "\n".join(out).strip()
