"""Executor benchmarks, printed as ratios measured side by side in one run (never a timed test).

1. fan-out: 50 agents x 4 stages of 0.5 s tasks; runner's wall time / the ideal 2 s, next to a
   plain thread pool doing the same sleeps (target: runner <= 1.03 x; a thread pool ~1.009 x).
2. chain: per-step overhead on a 1,000-step chain of no-op tasks, next to calling the same
   agent 1,000 times in a loop (target: <= 0.4 ms per step).
3. compile: loading + validating + compiling a 1,000-step pattern.

Run: .venv/bin/python bench/executor.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runner.agents.inprocess import PythonAgent
from runner.agents.model import TaskRequest
from runner.api import apply, plan
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: bench\n", "bench-pool.yaml")


def fan_out_pattern(stages: int, agents: int) -> str:
    steps = "".join(
        f"  - id: s{i}\n    agents: {{capabilities: [work], min: {agents}}}\n    task: go\n"
        + (f"    needs: [s{i - 1}]\n" if i else "")
        for i in range(stages)
    )
    return f"name: fanout\nconcurrency: {agents}\nsteps:\n{steps}"


def chain_pattern(n: int) -> str:
    steps = "".join(
        f"  - id: s{i}\n    agents: {{capabilities: [noop]}}\n    task: go\n" + (f"    needs: [s{i - 1}]\n" if i else "")
        for i in range(n)
    )
    return f"name: chain\nsteps:\n{steps}"


def bench_fan_out(stages: int, agents: int, seconds: float, state: Path) -> None:
    ideal = stages * seconds
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=agents) as pool:
        for _ in range(stages):
            list(pool.map(lambda _: time.sleep(seconds), range(agents)))
    baseline = time.perf_counter() - t0

    handles = [PythonAgent(f"a{i}", lambda r: time.sleep(seconds) or "ok", capabilities=("work",))
               for i in range(agents)]
    pattern = parse_pattern(fan_out_pattern(stages, agents), "fanout.yaml")
    # Warm the imports (networkx, jinja2): cold start has its own benchmark (cold_start.py).
    apply(parse_pattern(fan_out_pattern(1, 1), "warm.yaml"), POOL, {}, ctx=RunContext(state_dir=state),
          handles=[PythonAgent("w", lambda r: "ok", capabilities=("work",))])
    t0 = time.perf_counter()
    outcome = apply(pattern, POOL, {}, ctx=RunContext(state_dir=state), handles=handles)
    wall = time.perf_counter() - t0
    assert outcome.exit_code == 0, outcome.result["error"]
    print(f"fan-out {agents} agents x {stages} stages x {seconds}s: ideal {ideal:.3f}s | "
          f"thread pool {baseline:.3f}s ({baseline / ideal:.3f}x) | runner {wall:.3f}s ({wall / ideal:.3f}x)"
          f"  [target <= 1.03x]")


def bench_chain(n: int, state: Path) -> None:
    agent = PythonAgent("noop", lambda r: "ok", capabilities=("noop",))
    request = TaskRequest(task_id="t", description="go")
    agent.start()
    t0 = time.perf_counter()
    for _ in range(n):
        agent.execute(request)
    raw = time.perf_counter() - t0
    pattern = parse_pattern(chain_pattern(n), "chain.yaml")
    t0 = time.perf_counter()
    outcome = apply(pattern, POOL, {}, ctx=RunContext(state_dir=state), handles=[agent])
    wall = time.perf_counter() - t0
    assert outcome.exit_code == 0, outcome.result["error"]
    per_step = (wall - raw) / n * 1000
    print(f"chain of {n} no-op steps: raw calls {raw * 1000:.1f} ms | runner {wall * 1000:.1f} ms "
          f"(incl. compile) -> {per_step:.3f} ms overhead per step  [target <= 0.4 ms]")


def bench_compile(n: int) -> None:
    text = chain_pattern(n)
    agent = PythonAgent("noop", lambda r: "ok", capabilities=("noop",))
    t0 = time.perf_counter()
    pattern = parse_pattern(text, "chain.yaml")
    t1 = time.perf_counter()
    plan(pattern, POOL, {}, handles=[agent])
    t2 = time.perf_counter()
    print(f"compile {n}-step pattern: load+validate {1000 * (t1 - t0):.1f} ms, compile {1000 * (t2 - t1):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        if args.quick:
            bench_fan_out(2, 10, 0.1, state)
            bench_chain(100, state)
            bench_compile(100)
        else:
            bench_fan_out(4, 50, 0.5, state)
            bench_chain(1000, state)
            bench_compile(1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
