"""Progress: plain lines off a terminal (one per step state change and per failure), a live
table of the steps on one; agent state changes only when verbose; redacted; cheap."""

from __future__ import annotations

import io
import re

from observe_secrets import PLAIN, leaks

from runner.agents.lifecycle import AgentState, Lifecycle
from runner.context import EventBus
from runner.observe.progress import LineProgress, LiveProgress, make_progress
from runner.observe.redact import Redactor

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def drive(p) -> None:
    """A step whose first attempt fails and whose second answers (journal event names and fields)."""
    bus = EventBus()
    bus.subscribe(p.on_agent_event)
    life = Lifecycle("a1", bus)
    p.on_event("step_started", step="lint", agents=["a1", "a2", "a3"], time="2026-01-01T00:00:00.000Z")
    life.to(AgentState.STARTING)
    life.to(AgentState.READY)
    p.on_event("attempt_started", step="lint", agent="a1", attempt=1, item=None, task="check it")
    p.on_event("attempt_finished", step="lint", agent="a1", attempt=1, item=None, status="failed",
               errorKind="timeout", durationMs=2000, error=f"no answer, key {PLAIN}")
    p.on_event("attempt_started", step="lint", agent="a1", attempt=2, item=None)
    p.on_event("attempt_finished", step="lint", agent="a1", attempt=2, item=None, status="ok", durationMs=400,
               result="fine", confidence=0.9, usage={"total_cost_usd": 0.25, "usage": {"input_tokens": 10}})
    p.on_event("step_finished", step="lint", status="succeeded", confidence=0.9, time="2026-01-01T00:00:02.500Z",
               aggregation={"type": "first", "votes": {}, "ok": True, "reason": "first answer"})
    p.on_event("something_new", step="lint")  # ignored


def plain_lines(text: str) -> list[str]:
    return [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in text.splitlines()]


def test_plain_lines_one_per_step_change_and_failure(redactor, secrets):
    out = io.StringIO()
    p = make_progress(out, redactor=redactor)
    assert isinstance(p, LineProgress)
    with p:
        drive(p)
    assert plain_lines(out.getvalue()) == [
        "step lint: running (3 agents)",
        "step lint: attempt 1 on a1: failed (timeout) in 2.0s: no answer, key ***",
        "step lint: succeeded in 2.5s (confidence 0.90)",
    ]
    assert not ANSI.search(out.getvalue())
    assert not leaks(out.getvalue(), secrets)


def test_verbose_adds_attempts_and_agent_states(redactor):
    out = io.StringIO()
    with make_progress(out, redactor=redactor, verbose=True) as p:
        drive(p)
    assert plain_lines(out.getvalue()) == [
        "step lint: running (3 agents)",
        "agent a1: starting",
        "agent a1: ready",
        "step lint: attempt 1 on a1",
        "step lint: attempt 1 on a1: failed (timeout) in 2.0s: no answer, key ***",
        "step lint: attempt 2 on a1",
        "step lint: attempt 2 on a1: ok in 0.4s",
        "step lint: succeeded in 2.5s (confidence 0.90)",
    ]


def test_live_view_is_a_table_of_steps_with_failures_above(redactor, secrets):
    out = io.StringIO()
    p = make_progress(out, tty=True, redactor=redactor)
    assert isinstance(p, LiveProgress)
    with p:
        drive(p)
    text = out.getvalue()
    plain = ANSI.sub("", text)
    assert re.search(r"step\s+state\s+agents\s+attempt\s+elapsed\s+cost", plain)
    assert re.search(r"lint\s+succeeded\s+0 busy · 2 done\s+2\s+2\.5s\s+\$0\.2500", plain)
    failure = plain.index("attempt 1 on a1: failed (timeout)")
    assert failure < plain.rindex("lint")  # printed above the table's last drawing
    assert "a1: starting" not in plain and "ready" not in plain  # agent states only with -v
    assert "\x1b[" in text  # redrawn in place
    assert not leaks(text, secrets)


def test_live_view_lists_planned_steps_as_pending():
    out = io.StringIO()
    with make_progress(out, tty=True) as p:
        p.model.set_plan({"steps": [{"id": "a", "needs": []}, {"id": "b", "needs": ["a"]}]})
        p.on_event("step_started", step="a", agents=["x"])
    plain = ANSI.sub("", out.getvalue())
    assert re.search(r"a\s+running", plain) and re.search(r"b\s+pending", plain)


class CountingStream(io.StringIO):
    """A real text stream that counts its writes and flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = self.flushes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class CountingRedactor(Redactor):
    """A real redactor that counts the texts it is asked to redact."""

    calls = 0

    def redact(self, text: str) -> str:
        self.calls += 1
        return super().redact(text)


def test_the_plain_reporter_costs_nothing_per_answer_but_folding_it_and_one_write_per_line():
    """A run's events go through the reporter as they are written: a successful attempt prints
    nothing, so it costs no redaction and no write; each line is one write and one flush.
    (Its cost per event, next to a journal event's: bench/progress.py.)"""
    out, redactor = CountingStream(), CountingRedactor()
    p = LineProgress(out, redactor)
    p.on_event("step_started", step="s", agents=["a"])
    for i in range(5000):
        p.on_event("attempt_started", step="s", agent="a", attempt=i)
        p.on_event("attempt_finished", step="s", agent="a", attempt=i, status="ok", durationMs=10)
    assert (out.writes, out.flushes, redactor.calls) == (1, 1, 1)  # the step's one line
    p.on_event("attempt_finished", step="s", agent="a", attempt=5000, status="failed", error="boom")
    p.on_event("step_finished", step="s", status="succeeded")
    assert (out.writes, out.flushes, redactor.calls) == (3, 3, 3)
    assert len(out.getvalue().splitlines()) == 3
    assert p.model.steps["s"].attempt == 5000 and p.model.steps["s"].busy == 0


class CountingList(list):
    """A step's attempts that count how often they are walked."""

    walks = 0

    def __iter__(self):
        CountingList.walks += 1
        return super().__iter__()


def test_a_redraw_of_the_live_table_does_not_walk_a_steps_attempts():
    """The table is redrawn four times a second: its counts (busy, done, attempt, cost) are kept
    as attempts start and end, so a redraw costs the same at 10 attempts or 10,000."""
    out = io.StringIO()
    p = LiveProgress(out, force_terminal=True)
    p.on_event("step_started", step="s", agents=["a"])
    step = p.model.steps["s"]
    step.attempts = CountingList(step.attempts)
    for i in range(1000):
        p.on_event("attempt_started", step="s", agent="a", attempt=1, item=i)
    for i in range(600):
        p.on_event("attempt_finished", step="s", agent="a", attempt=1, item=i, status="ok", durationMs=10,
                   usage={"cost_usd": 0.5} if i < 4 else {})
    p.on_event("attempt_finished", step="s", agent="a", attempt=3, item=2000, status="failed")  # not started
    CountingList.walks = 0
    p.console.print(p._render())
    assert CountingList.walks == 0
    assert re.search(r"s\s+running\s+400 busy · 601 done\s+3\s+\S+\s+\$2\.0000", ANSI.sub("", out.getvalue()))
    assert (step.busy, step.done, step.attempt, step.cost_usd) == (
        sum(a.status == "running" for a in step.attempts), sum(a.status != "running" for a in step.attempts),
        max(a.attempt for a in step.attempts), 2.0)


def test_the_live_table_fits_the_terminal_and_says_what_it_hides():
    out = io.StringIO()
    p = LiveProgress(out, force_terminal=True)
    p.console.height = 12
    p.model.set_plan({"steps": [{"id": f"s{i}", "needs": []} for i in range(100)]})
    for i in range(60):
        p.on_event("step_started", step=f"s{i}", agents=["a"], time=f"2026-01-01T00:{i:02d}:00.000Z")
        if i != 7:
            p.on_event("step_finished", step=f"s{i}", status="failed" if i == 3 else "succeeded",
                       time=f"2026-01-01T00:{i:02d}:30.000Z")
    out.truncate(0)
    out.seek(0)  # what was printed above the table (s3's failure) is not the table
    p.console.print(p._render())
    lines = ANSI.sub("", out.getvalue()).splitlines()
    assert len(lines) == 1 + 9  # the header, 8 steps, one line for the rest
    shown = [line.split()[0] for line in lines[1:-1]]
    assert shown[:2] == ["s3", "s7"] and set(shown[2:]) == {"s54", "s55", "s56", "s57", "s58", "s59"}
    assert re.search(r"… 92 more\s+40 pending, 52 succeeded", lines[-1])


def test_a_waiting_step_and_a_reused_one_say_so_in_lines_and_in_the_live_table() -> None:
    def feed(p) -> None:  # type: ignore[no-untyped-def]
        p.on_event("step_started", step="build", agents=["a1"])
        p.on_event("step_finished", step="build", status="succeeded", output="ok", reusedFrom="20260101-000000-abc123")
        p.on_event("step_started", step="deploy", agents=["a1"])
        p.on_event("step_waiting", step="deploy", message="Deploy to production?", timeout=60.0)

    out = io.StringIO()
    feed(LineProgress(out))
    assert plain_lines(out.getvalue())[1:] == ["step build: reused (from run 20260101-000000-abc123)",
                                               "step deploy: running (1 agent)",
                                               "step deploy: waiting for approval: Deploy to production?"]
    screen = io.StringIO()
    live = LiveProgress(screen, force_terminal=True)
    with live:
        feed(live)
    text = ANSI.sub("", screen.getvalue())
    assert "reused" in text and "waiting: Deploy to production?" in text
    assert live.model.steps["deploy"].status == "waiting" and live.model.steps["build"].reused_from
