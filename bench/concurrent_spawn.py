"""Sixteen agents of a real CLI spawned at once, next to one alone: spawn-to-ready through the
local runtime (long-lived TUIs against the vendor-API mock of the tests, each in its own seeded
config home), as a run with 16 agents starts them.

Prints one agent's spawn-to-ready (median of `--alone` runs), then for 16 started at once the
time until the last is ready, the median agent's, and the ratio last / alone (target <= 1.5).
Then each of the 16 answers a task with its own token: every answer must carry its own (no
crossed config, port or file). The machine's cores bound the ratio: 16 CLIs start 16 times the
work of one, so the CPU time of the start is printed too, split into runner's own (this
process: PTY reading, screen rendering) and the CLIs' (reaped children), and the floor the
cores set: the CLIs' CPU time / cores.

Run: .venv/bin/python bench/concurrent_spawn.py [--cli claude] [-n 16] [--alone 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: the vendor mock

from runner.agents.model import AgentInfo, TaskRequest  # noqa: E402
from runner.runtimes.local import LocalRuntime  # noqa: E402
from tests.helpers.clis import definition, make_ctx  # noqa: E402
from tests.helpers.vendor_mock import VendorMock  # noqa: E402

KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}
TARGET = 1.5


def spawn_at_once(tmp: Path, cli: str, url: str, n: int, ask: bool) -> tuple[list[float], int]:
    """Seconds from the common start to each agent's ready; how many answered with their own token."""
    ctx = make_ctx(tmp, KEY)
    runtime = LocalRuntime(ctx, {"grace": 1.0})
    d = definition(cli, url, mode="long-lived")
    handles = [runtime.spawn(AgentInfo(id=f"a{i}", name=f"a{i}", type=cli, definition=d)) for i in range(n)]
    own = 0
    try:
        with ThreadPoolExecutor(n) as pool:
            t0 = time.perf_counter()

            def start(h) -> float:  # noqa: ANN001
                h.start()
                return time.perf_counter() - t0

            ready = list(pool.map(start, handles))
            if ask:
                results = list(pool.map(lambda ih: ih[1].execute(TaskRequest(
                    task_id=f"t{ih[0]}", description=f"Say it. TOKEN:w{ih[0]}x", timeout=120)), enumerate(handles)))
                own = sum(f"The token is w{i}x." in str(r.result) for i, r in enumerate(results))
    finally:
        for h in handles:
            h.stop()
        runtime.cleanup()
    return ready, own


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="claude", choices=["claude", "codex", "gemini", "aider"])
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--alone", type=int, default=3, help="runs of one agent alone (median)")
    ap.add_argument("--quick", action="store_true", help="4 at once, one alone run")
    args = ap.parse_args()
    n, alone_runs = (4, 1) if args.quick else (args.n, args.alone)
    with VendorMock() as mock, tempfile.TemporaryDirectory() as d:
        alone = statistics.median(spawn_at_once(Path(d) / f"alone{k}", args.cli, mock.url, 1, False)[0][0]
                                  for k in range(alone_runs))
        own_cpu, cli_cpu = _cpu()
        ready, _ = spawn_at_once(Path(d) / "many", args.cli, mock.url, n, False)
        own_cpu, cli_cpu = (a - b for a, b in zip(_cpu(), (own_cpu, cli_cpu), strict=True))
        _, own = spawn_at_once(Path(d) / "ask", args.cli, mock.url, n, True)
    last, cores = max(ready), os.cpu_count() or 1
    print(f"{args.cli}: one alone ready in {alone:.2f} s (median of {alone_runs}); {n} at once: last ready "
          f"{last:.2f} s, median {statistics.median(ready):.2f} s; last / alone {last / alone:.2f} "
          f"(target <= {TARGET}); cpu of the {n} starts: runner {own_cpu:.2f} s, the CLIs {cli_cpu:.2f} s "
          f"(floor on {cores} cores: {cli_cpu / cores:.2f} s = {cli_cpu / cores / alone:.2f} x alone); "
          f"{own} of {n} answered with their own token; load average {os.getloadavg()[0]:.1f}")


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
