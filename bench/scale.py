"""Scale benchmark: a `forEach` over N items (default 1,000), each task a local per-task
`command` agent sleeping 1 s, `concurrency: 64`; next to the ideal (N / 64 s) and a plain thread
pool of 64 running the same processes in the same run. Prints wall ratios (target <= 1.10 ×
ideal), runner's peak RSS (target <= 400 MB), and `runner plan` of the pattern (target <= 1 s).

While `runner apply` runs, its open file descriptors and its running agents (child processes)
are sampled every 50 ms: the least-squares line fds = a × agents + b gives the fds per running
agent (target <= 4) and the constant. The same pattern also runs over a quarter of the items:
the journal's bytes per event at both sizes say whether it grows linearly with its events.

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
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

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


def runner(*args: str, cwd: Path, samples: list[tuple[int, int]] | None = None,
           cpu: list[float] | None = None) -> float:
    """Seconds ``runner ARGS`` took; ``samples`` gets (running agents, open fds) every 50 ms, and
    ``cpu`` the CPU seconds runner's own process had used at the last sample (its agents not counted)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("runner")), *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the progress lines too
    done = threading.Event()
    if samples is not None:
        threading.Thread(target=_sample, args=(proc.pid, samples, done, cpu), daemon=True).start()
    code = proc.wait()
    done.set()
    if code != 0:
        raise SystemExit(f"runner {' '.join(args)} failed ({code})")
    return time.perf_counter() - t0


def _sample(pid: int, samples: list[tuple[int, int]], done: threading.Event, cpu: list[float] | None) -> None:
    try:
        me = psutil.Process(pid)
        while not done.wait(0.05):
            samples.append((len(me.children()), me.num_fds()))
            if cpu is not None:
                times = me.cpu_times()
                cpu[:] = [times.user + times.system]
    except psutil.Error:  # it ended between two samples
        return


def fds_per_agent(samples: list[tuple[int, int]]) -> tuple[float, float, int, int]:
    """(slope, intercept) of fds over running agents (least squares), peak agents, peak fds."""
    if len({a for a, _ in samples}) < 2:
        return math.nan, math.nan, max((a for a, _ in samples), default=0), max((f for _, f in samples), default=0)
    n = len(samples)
    mx, my = sum(a for a, _ in samples) / n, sum(f for _, f in samples) / n
    slope = sum((a - mx) * (f - my) for a, f in samples) / sum((a - mx) ** 2 for a, _ in samples)
    return slope, my - slope * mx, max(a for a, _ in samples), max(f for _, f in samples)


def journal(state: Path) -> tuple[int, int]:
    """(events, bytes) of the only run's events.jsonl under ``state``."""
    path = next(state.glob("runs/*/events.jsonl"))
    data = path.read_bytes()
    return data.count(b"\n"), len(data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="100 items (a smoke run)")
    args = ap.parse_args()
    n = 100 if args.quick else args.items
    ideal = math.ceil(n / CONCURRENCY) * 1.0
    samples: list[tuple[int, int]] = []
    cpu_big: list[float] = []
    cpu_small: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        pattern, pool = files(Path(d), n)
        plan_s = runner("plan", str(pattern), "--pool", str(pool), cwd=Path(d))
        pool_s = thread_pool(n)
        run_s = runner("apply", str(pattern), "--pool", str(pool), "--state-dir", str(Path(d) / "big"),
                       cwd=Path(d), samples=samples, cpu=cpu_big)
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        big = journal(Path(d) / "big")
        runner("apply", str(pattern), "--pool", str(pool), "--state-dir", str(Path(d) / "small"),
               "--input", f"n={n // 4}", cwd=Path(d), samples=[], cpu=cpu_small)
        small = journal(Path(d) / "small")
    slope, constant, peak_agents, peak_fds = fds_per_agent(samples)
    print(f"{n} agents of 1 s, concurrency {CONCURRENCY}: ideal {ideal:.1f} s | thread pool {pool_s:.2f} s "
          f"({pool_s / ideal:.2f} ×) | runner apply {run_s:.2f} s ({run_s / ideal:.2f} × ideal, target <= 1.10; "
          f"{run_s / pool_s:.2f} × the thread pool)")
    print(f"peak RSS of the largest child (runner apply): {rss_mb:.0f} MB (target <= 400); "
          f"runner plan {plan_s:.2f} s (target <= 1)")
    print(f"open fds of runner apply: {slope:.2f} per running agent + {constant:.0f} (target <= 4 per agent; "
          f"least squares over {len(samples)} samples; peak {peak_fds} fds with {peak_agents} agents running)")
    print(f"journal: {small[0]} events {small[1] / 1024:.0f} KiB ({small[1] / small[0]:.0f} B/event) for {n // 4} "
          f"items; {big[0]} events {big[1] / 1024:.0f} KiB ({big[1] / big[0]:.0f} B/event) for {n}: "
          f"events × {big[0] / small[0]:.2f}, bytes × {big[1] / small[1]:.2f} (linear: the two ratios equal)")
    if cpu_big and cpu_small:
        print(f"runner apply's own CPU (its agents not counted): {1000 * cpu_small[0] / (n // 4):.1f} ms per item "
              f"for {n // 4} items, {1000 * cpu_big[0] / n:.1f} ms per item for {n} (linear: about equal)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
