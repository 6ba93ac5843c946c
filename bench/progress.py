"""Micro-benchmark: what the plain progress view costs per journal event (not a test).

    python bench/progress.py [N]

Every journal event of a run also goes to the progress reporter (``runner.observe.progress``).
Here a successful attempt's two events (``attempt_started``, ``attempt_finished``) through
``LineProgress`` (which prints nothing for them: tests/observe/test_progress.py counts its
writes), next to the same two events written by ``Journal.event``, the cost every event pays
anyway. The view should cost less than the journal it rides on (≤ 1 ×; it was a timed test
of < 0.1 ms per event before).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from runner.journal import Journal
from runner.observe.progress import LineProgress

STARTED = {"step": "review", "agent": "claude-1", "attempt": 1, "item": None, "task": "Review the change." * 5}
FINISHED = {"step": "review", "agent": "claude-1", "attempt": 1, "item": None, "status": "ok",
            "result": {"verdict": "PASS", "issues": ["a", "b"], "score": 0.93}, "confidence": 0.9,
            "durationMs": 1234.5, "usage": {"inputTokens": 1200, "outputTokens": 340}}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "run") as journal:
        view = LineProgress(io.StringIO())
        view.on_event("step_started", step="review", agents=["claude-1"])
        sinks = [journal.event, view.on_event]
        best = [float("inf")] * len(sinks)
        for _ in range(7):  # the two take turns in every round: a busy machine slows them alike
            for i, sink in enumerate(sinks):
                t0 = time.perf_counter()
                for k in range(n):
                    sink("attempt_started", **{**STARTED, "attempt": k})
                    sink("attempt_finished", **{**FINISHED, "attempt": k})
                best[i] = min(best[i], (time.perf_counter() - t0) / (2 * n))
    written, shown = best
    print(f"Journal.event                        {written * 1e6:8.2f} µs/event")
    print(f"LineProgress.on_event                {shown * 1e6:8.2f} µs/event  = {shown / written:.2f} × a journal "
          "event (target ≤ 1 ×)")


if __name__ == "__main__":
    main()
