"""Resume: `--resume` of a 1,000-step run whose every step succeeded (all of them reused), next
to reading that run's journal file (json.loads of every line), measured side by side.

Target: the resume (reading the earlier journal, checking every step's fingerprint, restoring and
journaling every step) <= 0.3 s. Never a timed test: the figure beside the target and its ratio to
reading the journal are printed here; wall and CPU time both (on a loaded machine the CPU time and
the ratios, measured in the same minute, say more than the wall time).
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
TARGET = 0.3  # seconds, for 1,000 steps (issue 16; --quick runs 200)


def chain(n: int) -> str:
    """A chain whose tasks read the step before (as a real pipeline's do)."""
    steps = "".join(
        f"  - id: s{i}\n    agents: {{capabilities: [noop]}}\n"
        + (f"    task: 'go {{{{ steps.s{i - 1}.output }}}}'\n    needs: [s{i - 1}]\n" if i else "    task: go\n")
        for i in range(n))
    return f"name: chain\nsteps:\n{steps}"


def best(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The shortest wall time and the shortest CPU time of ``repeat`` calls (each its own best)."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


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
        baseline, baseline_cpu = best(read, 5)
        took, took_cpu = best(resume, 5)
    verdict = ("met" if took <= TARGET else "NOT met") if n == 1000 else "for 1,000 steps"
    print(f"resume {n} steps, all reused: {took * 1000:.1f} ms wall [target <= {TARGET * 1000:.0f} ms: {verdict}], "
          f"{took_cpu * 1000:.1f} ms CPU | reading the journal ({size // 1024} KiB) {baseline * 1000:.1f} ms wall, "
          f"{baseline_cpu * 1000:.1f} ms CPU | ratio {took / baseline:.1f}x wall, {took_cpu / baseline_cpu:.1f}x CPU "
          f"(the first run took {fresh * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
