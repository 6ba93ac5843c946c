"""Resume: `--resume` of a 1,000-step run whose every step succeeded (all of them reused), next
to reading that run's journal file (json.loads of every line), measured side by side.

Target: the resume (reading the earlier journal, checking every step's fingerprint, restoring and
journaling every step) <= 0.3 s. Never a timed test: a ratio printed here.
Run: .venv/bin/python bench/resume.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from runner.agents.inprocess import PythonAgent
from runner.api import apply
from runner.context import RunContext
from runner.resume.source import load_earlier
from runner.spec import load_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: bench\n", "bench-pool.yaml")


def chain(n: int) -> str:
    """A chain whose tasks read the step before (as a real pipeline's do)."""
    steps = "".join(
        f"  - id: s{i}\n    agents: {{capabilities: [noop]}}\n"
        + (f"    task: 'go {{{{ steps.s{i - 1}.output }}}}'\n    needs: [s{i - 1}]\n" if i else "    task: go\n")
        for i in range(n))
    return f"name: chain\nsteps:\n{steps}"


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 200 if parser.parse_args().quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp, "state")
        source = Path(tmp, "chain.yaml")
        source.write_text(chain(n))
        pattern = load_pattern(source)
        agent = PythonAgent("noop", lambda r: "ok", capabilities=("noop",))
        t0 = time.perf_counter()
        first = apply(pattern, POOL, {}, ctx=RunContext(state_dir=state), handles=[agent])
        fresh = time.perf_counter() - t0
        assert first.exit_code == 0, first.result["error"]
        events = Path(first.run_dir, "events.jsonl")

        def read() -> None:
            with open(events, "rb") as f:
                for line in f:
                    json.loads(line)

        def resume() -> None:
            earlier = load_earlier(state, first.result["runId"])
            out = apply(pattern, POOL, {}, ctx=RunContext(state_dir=state, resume=earlier), handles=[agent])
            assert out.exit_code == 0 and all(s.get("reusedFrom") for s in out.result["steps"]), out.result["error"]

        resume()  # warm: imports, template caches
        size = events.stat().st_size
        baseline = best(read, 5)
        took = best(resume, 5)
    print(f"resume {n} steps, all reused: read the journal ({size // 1024} KiB) {baseline * 1000:.1f} ms | "
          f"resume {took * 1000:.1f} ms ({took / baseline:.1f}x reading it; the first run took "
          f"{fresh * 1000:.0f} ms)  [target <= 300 ms]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
