"""strip_ansi and its streaming form."""

from __future__ import annotations

from runner.agents.ansi import AnsiStripper, strip_ansi
from runner.agents.pty.transcript import Transcript


def test_strip_ansi_sequences():
    raw = ("\x1b[1;31mred\x1b[0m \x1b]0;window title\x07plain\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
           " \x1b[?2004h\x1b[9Gmoved\x1b7\x1b(B\x1bPdcs data\x1b\\ end\r\n\x07next\u00a0line")
    assert strip_ansi(raw) == "red plainlink moved end\nnext line"


def test_streaming_keeps_split_sequences_whole():
    raw = "a\x1b[31mb\x1b]0;title\x07c\r\nd\x1b[0me"
    for cut in range(1, len(raw)):
        s = AnsiStripper()
        assert s.feed(raw[:cut]) + s.feed(raw[cut:]) + s.flush() == "abc\nde", cut


def test_unterminated_junk_is_not_held_forever():
    s = AnsiStripper()
    out = s.feed("\x1b]" + "x" * 5000 + "\nrest")
    assert out.endswith("rest")


def test_transcript_is_bounded_and_keeps_absolute_offsets():
    t = Transcript(limit=20_000)
    for i in range(100):
        t.append(f"{i:04d}" * 1000)
    assert t.total == 400_000
    assert 20_000 <= t.total - t.first < 50_000
    assert t.since(t.total - 8) == "00990099"
    assert t.since(0) == t.since(t.first)
    assert t.since(t.total) == ""


def test_a_read_larger_than_the_transcript_keeps_its_end_and_absolute_offsets():
    t = Transcript(limit=1000)
    t.append("head\n")
    t.append("a" * 5000 + "END")
    assert t.total == 5008 and t.first == 4008
    assert t.since(0) == ("a" * 5000 + "END")[-1000:]
    assert t.since(5005) == "END"
