"""Scale benchmark: a `forEach` over N items (default 1,000), each task a local per-task
`command` agent sleeping 1 s, `concurrency: 64`; next to the ideal (N / 64 s) and a plain thread
pool of 64 running the same processes in the same run. Prints wall ratios (target <= 1.10 ×
ideal), runner's peak RSS (target <= 400 MB), and `runner plan` of the pattern (target <= 1 s).

Run: .venv/bin/python bench/scale.py [--items N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONCURRENCY = 64
AGENT = [sys.executable, "-c", "import sys, time; sys.stdin.read(); time.sleep(1); print('done')"]


def files(d: Path, n: int) -> tuple[Path, Path]:
    pattern = d / "scale.yaml"
    pattern.write_text(f"""name: scale
concurrency: {CONCURRENCY}
inputs:
  n: {{type: integer, default: {n}}}
steps:
  - id: each
    forEach: "{{{{ range(inputs.n) | list }}}}"
    agents: {{capabilities: [sleep]}}
    task: "item {{{{ item }}}}"
""")
    pool = d / "pool.yaml"
    pool.write_text(f"""kind: pool
name: scale
runtimes:
  - type: local
    options: {{maxParallel: {CONCURRENCY}}}
agents:
  - id: sleeper
    command: {json.dumps(AGENT)}
    capabilities: [sleep]
""")
    return pattern, pool


def thread_pool(n: int) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as ex:
        list(ex.map(lambda _: subprocess.run(AGENT, input=b"x", stdout=subprocess.DEVNULL, check=True), range(n)))
    return time.perf_counter() - t0


def runner(*args: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("runner")), *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="100 items (a smoke run)")
    args = ap.parse_args()
    n = 100 if args.quick else args.items
    ideal = math.ceil(n / CONCURRENCY) * 1.0
    with tempfile.TemporaryDirectory() as d:
        pattern, pool = files(Path(d), n)
        plan_s = runner("plan", str(pattern), "--pool", str(pool), cwd=Path(d))
        pool_s = thread_pool(n)
        run_s = runner("apply", str(pattern), "--pool", str(pool), cwd=Path(d))
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{n} agents of 1 s, concurrency {CONCURRENCY}: ideal {ideal:.1f} s | thread pool {pool_s:.2f} s "
          f"({pool_s / ideal:.2f} ×) | runner apply {run_s:.2f} s ({run_s / ideal:.2f} × ideal, target <= 1.10; "
          f"{run_s / pool_s:.2f} × the thread pool)")
    print(f"peak RSS of the largest child (runner apply): {rss_mb:.0f} MB (target <= 400); "
          f"runner plan {plan_s:.2f} s (target <= 1)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
