"""ScreenDriver on recorded screens: dialogs answered with the table's keys, approvals per
preset, timeouts and exits reported as AgentFailures."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agents.types import screendrive
from runner.agents.types.screen import ScreenDetector
from runner.agents.types.screendrive import ScreenDriver
from runner.agents.types.screensession import load_recording
from runner.agents.types.screentable import load_table
from runner.errors import AgentFailure, FailureKind

DATA = Path(__file__).resolve().parents[2] / "data" / "screens"


def driver(name: str, approve: bool) -> ScreenDriver:
    header, frames = load_recording(DATA / f"{name}.jsonl")
    d = ScreenDriver(ScreenDetector(load_table(header["cli"], header["version"])), approve)
    for _, chunk in frames:
        d.feed(chunk.decode("utf-8", errors="replace"))
    return d


@pytest.mark.parametrize("name,keys", [
    ("claude-2.1.332-dialog", "\x1b[B\r"),  # trust: the default is "No, exit"
    ("codex-0.169.0-dialog", "1"),
    ("gemini-0.61.0-dialog", "\r"),
    ("aider-0.86.2-dialog", "n\r"),
])
def test_first_run_dialog_is_answered_once(name, keys):
    d, sent = driver(name, approve=False), []
    with pytest.raises(AgentFailure) as err:
        d.wait(sent.append, lambda: True, ("ready",), timeout=0.3)
    assert err.value.kind is FailureKind.TIMEOUT
    assert sent == [keys]


@pytest.mark.parametrize("cli", ["claude-2.1.332", "codex-0.169.0", "gemini-0.61.0", "aider-0.86.2"])
@pytest.mark.parametrize("approve", [True, False])
def test_approval_follows_the_preset(cli, approve):
    d, sent = driver(f"{cli}-approval", approve), []
    with pytest.raises(AgentFailure):
        d.wait(sent.append, lambda: True, ("done",), timeout=0.3, turns_after=d.turns)
    rule = d.detector.table.rule("approval")
    assert sent == [rule.yes if approve else rule.no]
    assert [ok for _, ok in d.approvals] == [approve]


def test_login_is_returned_at_once_and_exit_is_a_crash():
    d = driver("codex-0.169.0-login_required", approve=False)
    c = d.wait(lambda keys: None, lambda: True, ("ready",), timeout=5)
    assert c.state == "login_required" and "Sign in with ChatGPT" in c.text
    with pytest.raises(AgentFailure) as err:
        driver("claude-2.1.332-busy", approve=False).wait(lambda k: None, lambda: False, ("done",), timeout=5)
    assert err.value.kind is FailureKind.CRASH


def test_silent_screen_is_a_hang():
    d = driver("claude-2.1.332-busy", approve=False)
    with pytest.raises(AgentFailure) as err:
        d.wait(lambda k: None, lambda: True, ("done",), timeout=5, inactivity=0.2)
    assert err.value.kind is FailureKind.HANG


def test_a_spinner_flash_after_typing_is_not_a_finished_turn():
    """Regression (CI, under load): codex flashed its title spinner just after a task was typed,
    without starting a turn (no `state=working` report, no echo). That counted as a turn and the
    task "finished" with no answer. Busy is read from codex's own state report now."""
    header, frames = load_recording(DATA / "traces" / "codex-0.169.0-spinner-flash.jsonl")
    d = ScreenDriver(ScreenDetector(load_table(header["cli"], header["version"])), approve=True)
    typed_at = header["typed_at"]
    for _, chunk in frames[:typed_at]:
        d.feed(chunk.decode())
    assert d.detector.classify().state == "ready"
    turns, done_before = d.turns, d.detector.done_lines()
    for _, chunk in frames[typed_at:]:
        d.feed(chunk.decode())
    assert d.detector.screen.title == "work" and d.turns == turns
    with pytest.raises(AgentFailure) as err:
        d.wait(lambda keys: None, lambda: True, ("done", "ready"), timeout=0.3, turns_after=turns,
               done_before=done_before, marker=header["task"])
    assert err.value.kind is FailureKind.TIMEOUT


def test_status_reports_split_across_chunks_are_read():
    d = ScreenDetector(load_table("codex", "0.169.0"))
    for part in ("\x1b]75", "01;state=work", "ing:app=codex\x1b", "\\"):
        d.feed(part)
    assert d.status == "state=working:app=codex"
    assert d.classify().state == "busy"


def test_a_counted_turn_without_a_done_line_is_not_a_finished_turn():
    """Regression (CI, under load): codex's first task "finished" with the task's echo not
    readable on screen and a turn counted from a busy report that was not this task's; the
    answer was the raw screen. Off-echo, a table that marks finished turns must show one."""
    d = ScreenDriver(ScreenDetector(load_table("codex", "0.169.0")), approve=True)
    ready = "\x1b[2J\x1b[H› Ask Codex to do anything\r\n\r\n  mock-model default · /w\r\n  ← for agents · ? for shortcuts"
    d.feed("\x1b]7501;state=idle:app=codex\x1b\\" + ready)
    turns = d.turns
    d.feed("\x1b]7501;state=working:app=codex\x1b\\")
    assert d.detector.classify().state == "busy"
    d.feed("\x1b]7501;state=idle:app=codex\x1b\\" + ready)
    assert d.turns == turns + 1 and d.detector.classify().state == "ready"
    with pytest.raises(AgentFailure) as err:
        d.wait(lambda keys: None, lambda: True, ("done", "ready"), timeout=0.3, turns_after=turns,
               marker="Say hello. TOKEN:okapi")
    assert err.value.kind is FailureKind.TIMEOUT
    d.feed("\x1b[2J\x1b[H• Hello. The token is okapi.\r\n\r\n  Worked for 1s\r\n\r\n" + ready[7:])
    assert d.wait(lambda keys: None, lambda: True, ("done", "ready"), timeout=5, turns_after=turns,
                  marker="Say hello. TOKEN:okapi").state == "done"


def test_an_approval_still_on_screen_is_not_answered_twice(monkeypatch):
    """Regression (gemini under load): the approval stayed drawn for seconds after its `1`
    was read, the `1` was sent again and landed in the prompt, which then never read ready."""
    monkeypatch.setattr(screendrive, "_DIALOG_RETRY", 0.05)
    d, sent = driver("gemini-0.61.0-approval", approve=True), []
    with pytest.raises(AgentFailure):
        d.wait(sent.append, lambda: True, ("done",), timeout=0.5, turns_after=d.turns)
    assert sent == ["1"]
    approval = d.detector.text()
    d.feed("\x1b[2J\x1b[H✦ Working (esc to cancel, 1s)")  # it left the screen ...
    with pytest.raises(AgentFailure):
        d.wait(sent.append, lambda: True, ("done",), timeout=0.3, turns_after=d.turns)
    d.feed("\x1b[2J\x1b[H" + approval.replace("\n", "\r\n"))  # ... and a second one came
    with pytest.raises(AgentFailure):
        d.wait(sent.append, lambda: True, ("done",), timeout=0.3, turns_after=d.turns)
    assert sent == ["1", "1"] and len(d.approvals) == 2


def test_a_dialog_left_exactly_as_it_was_is_answered_again(monkeypatch):
    """A first-run dialog whose keys changed nothing on screen gets them again (an Ink app
    drops keys sent before its input handler is mounted); one that redrew after them does not."""
    monkeypatch.setattr(screendrive, "_DIALOG_RETRY", 0.05)
    d, sent = driver("codex-0.169.0-dialog", approve=False), []
    with pytest.raises(AgentFailure):
        d.wait(sent.append, lambda: True, ("ready",), timeout=1.0)
    assert len(sent) >= 2 and set(sent) == {"1"}
    d2, sent2 = driver("codex-0.169.0-dialog", approve=False), []

    def read_and_redraw(keys: str) -> None:  # the CLI took the key: its screen moved (a cursor line)
        sent2.append(keys)
        d2.feed(f"\x1b[40;1Hread {len(sent2)}")

    with pytest.raises(AgentFailure):
        d2.wait(read_and_redraw, lambda: True, ("ready",), timeout=1.0)
    assert sent2 == ["1"]
