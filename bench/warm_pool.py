"""Spawn-to-ready with and without a warm pool.

The agent is a long-lived REPL that takes STARTUP seconds to show its prompt (agent CLIs take
seconds to start). Measured, medians:

* cold: ``AgentManager.acquire`` of a template agent — spawn in a PTY, wait for the prompt;
* warm: the same step after ``runner pool up --detach`` — discover the warm agent and
  ``acquire`` it (connect to its server, check ``/health``);
* end to end: ``runner apply`` of a one-step pattern, cold and warm.

Run: .venv/bin/python bench/warm_pool.py [--startup 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPL = ("import json, time; time.sleep({startup})\n"
        "while True:\n"
        "    line = input('agent> ')\n"
        "    print(json.dumps({{'result': line.upper(), 'confidence': 0.9}}), flush=True)\n")
PATTERN = """name: one
steps:
  - id: s
    agents: {capabilities: [echo], min: 1}
    task: hello
"""


def pool_text(startup: float) -> str:
    code = REPL.format(startup=startup).replace("\n", "\\n").replace('"', '\\"')
    return f"""kind: pool
name: bench-warm
templates:
  - name: repl
    command: ["{sys.executable}", "-c", "{code}"]
    mode: long-lived
    readyPattern: "agent> $"
    capabilities: [echo]
warmPool: {{repl: 1}}
"""


def acquire_seconds(folder: Path, runs: int) -> float:
    from runner.context import RunContext
    from runner.execute.agents import AgentManager
    from runner.plan.compile import compile_plan, discover
    from runner.spec.pattern import parse_pattern
    from runner.spec.pool import load_pool

    pool = load_pool(folder / "pool.yaml")
    pattern = parse_pattern(PATTERN, "one.yaml")
    times = []
    for _ in range(runs):
        ctx = RunContext(workdir=folder, state_dir=folder / ".runner")
        plan = compile_plan(pattern, pool, {}, ctx, discover(ctx, pool))
        info = plan.selections["s"].agents[0]
        manager = AgentManager(ctx, pool)
        t0 = time.perf_counter()
        manager.acquire(info, plan.selections["s"].runtimes.get(info.id))
        times.append(time.perf_counter() - t0)
        manager.stop_all(force=True)
    return statistics.median(times)


def apply_seconds(folder: Path, runs: int) -> tuple[float, float]:
    """Medians of the wall time of ``runner apply`` and of the run itself (result's durationMs)."""
    import json

    walls, inside = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "runner", "apply", "one.yaml", "--pool", "pool.yaml", "-q",
                               "-o", "out.json"], cwd=folder, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"runner apply failed ({proc.returncode}): {proc.stderr}")
        inside.append(json.loads((folder / "out.json").read_text())["durationMs"] / 1000)
    return statistics.median(walls), statistics.median(inside)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--startup", type=float, default=1.0, help="seconds the agent takes to start")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pool.yaml").write_text(pool_text(args.startup))
        (folder / "one.yaml").write_text(PATTERN)
        cold = acquire_seconds(folder, args.runs)
        cold_apply = apply_seconds(folder, args.runs)
        runner = [sys.executable, "-m", "runner", "pool"]
        up = subprocess.run([*runner, "up", "pool.yaml", "--detach", "--interval", "0.1"], cwd=folder,
                            capture_output=True, text=True)
        if up.returncode != 0:
            raise SystemExit(f"runner pool up failed: {up.stdout}{up.stderr}")
        try:
            warm = acquire_seconds(folder, args.runs)
            warm_apply = apply_seconds(folder, args.runs)
        finally:
            subprocess.run([*runner, "down", "pool.yaml"], cwd=folder, capture_output=True)
    print(f"warm pool (agent start-up {args.startup:g} s): spawn-to-ready cold {cold * 1000:.0f} ms | "
          f"warm {warm * 1000:.1f} ms ({cold / warm:.0f}x) ; runner apply (run / wall) cold "
          f"{cold_apply[1] * 1000:.0f} / {cold_apply[0] * 1000:.0f} ms | warm {warm_apply[1] * 1000:.0f} / "
          f"{warm_apply[0] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
