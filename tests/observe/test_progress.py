"""Progress: plain lines off a terminal, a live table on one; redacted; cheap."""

from __future__ import annotations

import io
import re
import time

from observe_secrets import PLAIN, leaks

from runner.agents.lifecycle import AgentState, EventBus, Lifecycle
from runner.observe.progress import LineProgress, LiveProgress, make_progress


def drive(p) -> None:
    bus = EventBus()
    bus.subscribe(p.on_agent_event)
    life = Lifecycle("a1", bus)
    p.on_event("step_started", step="lint", agents=3)
    life.to(AgentState.STARTING)
    life.to(AgentState.READY)
    p.on_event("attempt_started", step="lint", agent="a1", attempt=1)
    p.on_event("attempt_finished", step="lint", agent="a1", attempt=1, status="failed", error_kind="timeout",
               duration_ms=2000, reason=f"no answer, key {PLAIN}")
    p.on_event("step_finished", step="lint", status="succeeded", duration_ms=2500, confidence=0.9)
    p.on_event("something_new", step="lint")  # ignored


def test_plain_lines_one_per_change(redactor, secrets):
    out = io.StringIO()
    p = make_progress(out, redactor=redactor)
    assert isinstance(p, LineProgress)
    with p:
        drive(p)
    lines = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in out.getvalue().splitlines()]
    assert lines == [
        "step lint: running (3 agents)",
        "agent a1: starting",
        "agent a1: ready",
        "step lint: attempt 1 on a1",
        "step lint: attempt 1 on a1: failed (timeout) in 2.0s: no answer, key ***",
        "step lint: succeeded in 2.5s (confidence 0.90)",
    ]
    assert not leaks(out.getvalue(), secrets)


def test_live_view_shows_steps_and_agents(redactor, secrets):
    out = io.StringIO()
    p = make_progress(out, tty=True, redactor=redactor)
    assert isinstance(p, LiveProgress)
    with p:
        drive(p)
    text = out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert re.search(r"step\s+lint\s+succeeded\s+\d+\.\ds", plain)
    assert re.search(r"agent\s+a1\s+ready\s+\d+\.\ds", plain)
    assert not leaks(text, secrets)


def test_plain_reporter_overhead_is_negligible():
    p = LineProgress(io.StringIO())
    n = 5000
    start = time.perf_counter()
    for i in range(n):
        p.on_event("attempt_finished", step="s", agent="a", attempt=i, status="ok", duration_ms=10)
    assert (time.perf_counter() - start) / n < 100e-6  # well under 0.1 ms per event
