"""Recorded PTY output of the real CLIs (tests/data/screens) replayed through the screen
detectors: every recorded state is classified right, with the text a human needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agents.types.screen import ScreenDetector, TermScreen, extract_answer
from runner.agents.types.screensession import load_recording
from runner.agents.types.screentable import load_table, parse_table
from runner.errors import ConfigurationError

DATA = Path(__file__).resolve().parents[2] / "data" / "screens"
RECORDINGS = sorted(DATA.glob("*.jsonl"))
# What each recording must show besides its state (the instruction / message text).
TEXT = {
    "claude-2.1.332-login_required": "run /login",
    "codex-0.169.0-login_required": "Sign in with ChatGPT",
    "gemini-0.61.0-login_required": "How would you like to authenticate",
    "aider-0.86.2-login_required": "no API keys were provided",
    "claude-2.1.332-error": "Invalid API key",
    "codex-0.169.0-error": "401",
    "gemini-0.61.0-error": "API Error",
    "aider-0.86.2-error": "AuthenticationError",
}


def replay(path: Path) -> tuple[dict, ScreenDetector]:
    header, frames = load_recording(path)
    detector = ScreenDetector(load_table(header["cli"], header["version"]))
    for _, chunk in frames:
        detector.feed(chunk)
    return header, detector


def test_every_cli_and_state_is_recorded():
    names = {p.stem for p in RECORDINGS}
    for cli, version in [("claude", "2.1.332"), ("codex", "0.169.0"), ("gemini", "0.61.0"), ("aider", "0.86.2")]:
        for state in ("login_required", "dialog", "ready", "busy", "approval", "done", "error"):
            assert f"{cli}-{version}-{state}" in names


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_recording_is_classified_right(path):
    header, detector = replay(path)
    c = detector.classify()
    if header["state"] == "done":
        # A finished turn: `done` where the CLI marks it, else ready again after being busy.
        assert c.state in ("done", "ready") and detector.turns >= 1, c
    else:
        assert c.state == header["state"], (c, detector.text())
    if path.stem in TEXT:
        assert TEXT[path.stem] in c.text


@pytest.mark.parametrize("path", [p for p in RECORDINGS if p.stem.endswith("-done")],
                         ids=lambda p: p.stem)
def test_answer_is_read_off_the_screen(path):
    header, detector = replay(path)
    answer = extract_answer(detector.text(), detector.table)
    if detector.table.answer_start is None:  # aider: plain lines, read from the transcript
        assert "Tokens:" in detector.text()
        return
    assert answer is not None and "The token is quokka." in answer and "CONFIDENCE: 0.85" in answer


# claude shows its ready prompt ~10 s before `Not logged in` (so the type refuses to start a
# TUI without a key); gemini draws its prompt before the trust dialog pops up (seeded runs
# never see that dialog).
EARLY_READY = {"claude-2.1.332-login_required", "gemini-0.61.0-dialog"}


@pytest.mark.parametrize("path", [p for p in RECORDINGS if p.stem.endswith(("-login_required", "-dialog"))
                                  and p.stem not in EARLY_READY], ids=lambda p: p.stem)
def test_no_false_ready_before_a_login_or_dialog(path):
    header, frames = load_recording(path)
    detector = ScreenDetector(load_table(header["cli"], header["version"]))
    seen = {detector.feed(chunk).state for _, chunk in frames}
    assert "ready" not in seen and "done" not in seen


def test_private_sgr_and_kitty_sequences_are_harmless():
    detector = ScreenDetector(load_table("codex"), columns=40, lines=3)
    detector.feed(b"\x1b[>4;0mhi\x1b[<u\x1b[>0q\x1b[?u there\x1b]0;title\x07")
    assert detector.text().split("\n")[0] == "hi there"
    assert detector.screen.title == "title"
    assert isinstance(detector.screen, TermScreen)


def test_sequences_split_across_chunks_are_rendered():
    detector = ScreenDetector(load_table("codex"), columns=40, lines=3)
    for part in (b"a\x1b[", b">4;0", b"mb\x1b", b"[<u", "c \u00e9".encode()[:3], "c \u00e9".encode()[3:]):
        detector.feed(part)
    assert detector.text().split("\n")[0] == "abc \u00e9"


def test_bad_table_names_its_file_and_rule():
    with pytest.raises(ConfigurationError, match=r"x\.yaml: \$\.rules\[0\]"):
        parse_table({"cli": "x", "rules": [{"state": "sleepy", "screen": "a"}]}, "x.yaml")
    with pytest.raises(ConfigurationError, match="bad regex"):
        parse_table({"cli": "x", "rules": [{"state": "ready", "screen": "("}]}, "x.yaml")


def test_table_is_chosen_by_version_prefix():
    assert load_table("claude", "2.1.332").cli == "claude"
    assert load_table("gemini", "9.9").versions  # unknown version: the newest table
