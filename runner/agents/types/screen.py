"""Screen-state detection for full-screen agent CLIs: render the PTY, read the title, classify.

The real CLIs redraw with cursor moves (claude separates words with ``ESC[9G``, codex uses
the alternate screen), so regexes on the raw stream fail. ``ScreenDetector`` feeds the raw
output through a terminal emulator (pyte), keeps the OSC 0 window title the CLIs set and
the last status a CLI reports about itself (codex: ``OSC 7501 ; state=working:app=codex``),
and classifies the rendered screen + title + status with an ordered rule table
(``screens/<cli>.yaml``, one table per CLI and version range) into::

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
# An escape sequence cut at the end of a chunk (CSI, or an OSC not yet terminated): held back.
_PARTIAL_TAIL = re.compile(r"\x1b(?:\[[\d;<>=?]*|\][^\x07\x1b]*)?$")
# A CLI's report of its own state (codex 0.169: idle | working | blocked | done); claude
# sends `OSC 7501 ; ?` as a query, which is neither a report nor answered.
_STATUS = re.compile(r"\x1b\]7501;([^\x07\x1b?][^\x07\x1b]*)")
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
    status: str = ""


class ScreenDetector:
    """Consumes raw PTY output (bytes or text) and tells the CLI's state. Thread-safe."""

    def __init__(self, table: ScreenTable, columns: int = 120, lines: int = 40) -> None:
        self.table = table
        self.screen = TermScreen(columns, lines)
        self._stream = pyte.Stream(self.screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._carry = ""
        self.turns = 0  # completed turns seen (one per answered task)
        self.status = ""  # the CLI's last report of its own state (OSC 7501), if it makes any
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
            for m in _STATUS.finditer(text):
                self.status = m.group(1)
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
            hit = _match(rule, screen, title, self.status)
            if hit is not None:
                return Classification(state=rule.state, rule=rule.name, text=_instruction(rule, screen, hit),
                                      title=title, status=self.status)
        return Classification(state="starting", title=title, status=self.status)


def _match(rule: Rule, screen: str, title: str, status: str) -> re.Match[str] | None:
    """The rule's hit: every channel it names (title, status, screen) must match."""
    hit = None
    for rx, value in ((rule.title, title), (rule.status, status)):
        if rx is not None:
            hit = rx.search(value)
            if hit is None:
                return None
    if rule.absent is not None and rule.absent.search(screen):
        return None
    return rule.screen.search(screen) if rule.screen is not None else hit


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
    while out and (not out[-1].strip() or (table.answer_end is not None and table.answer_end.search(out[-1]))):
        out.pop()  # the turn's own end lines below the answer (codex: `Worked for 3s` above its prompt)
    return "\n".join(out).strip()
