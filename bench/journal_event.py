"""Micro-benchmark: microseconds per ``Journal.event`` (not a test).

    python bench/journal_event.py [N]

Prints the cost of a typical ``attempt_finished`` event with and without a redaction hook,
and of a ``step_finished`` (which asks for a background fsync). The executor's per-step
overhead budget is 0.4 ms; an event should stay well under 0.1 ms.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from runner.journal import Journal

FIELDS = {
    "step": "review",
    "attempt": 1,
    "agent": "claude-1",
    "item": None,
    "status": "ok",
    "result": {"verdict": "PASS", "issues": ["a", "b"], "score": 0.93},
    "confidence": 0.9,
    "reasoning": "The change is small and the tests cover it." * 3,
    "errorKind": None,
    "error": None,
    "durationMs": 1234.5,
    "usage": {"inputTokens": 1200, "outputTokens": 340},
}
SECRET = re.compile(r"sk-[A-Za-z0-9]{20,}")


def bench(label: str, n: int, name: str, redact=None) -> None:
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "run", redact=redact) as j:
        for _ in range(200):  # warm up
            j.event(name, **FIELDS)
        t0 = time.perf_counter()
        for _ in range(n):
            j.event(name, **FIELDS)
        dt = time.perf_counter() - t0
    print(f"{label:<40} {dt / n * 1e6:8.2f} µs/event  ({n} events)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    bench("attempt_finished, no redaction", n, "attempt_finished")
    bench("attempt_finished, regex redaction", n, "attempt_finished", lambda s: SECRET.sub("[REDACTED]", s))
    bench("step_finished (background fsync)", n // 10, "step_finished")


if __name__ == "__main__":
    main()
