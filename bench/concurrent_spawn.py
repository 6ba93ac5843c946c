"""Sixteen agents of a real CLI spawned at once, next to one alone: spawn-to-ready through the
local runtime (long-lived TUIs against the vendor-API mock of the tests, each in its own seeded
config home), as a run with 16 agents starts them.

Prints one agent's spawn-to-ready (median of `--alone` runs), then for 16 started at once the
time until the last is ready, the median agent's, and the ratio last / alone (target <= 1.5).
Then each of the 16 answers a task with its own token: every answer must carry its own (no
crossed config, port or file).

The machine's cores bound the ratio: 16 CLIs start 16 times the work of one. So the CPU
seconds of one start are measured (the CLI's live process tree with what it reaped, read just
before it is stopped: alone, right after it is ready; in the 16, after the last is ready, so an
idle TUI's own ticking counts too) and the physical floor printed beside the measured ratio:
n × CPU per start / cores / one alone's wall. `--env "K=V ..."` runs everything a second time
in the same run with those variables added to each CLI's environment (before / after).

Run: .venv/bin/python bench/concurrent_spawn.py [--cli claude] [-n 16] [--alone 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: the vendor mock

from runner.agents.model import AgentInfo, TaskRequest  # noqa: E402
from runner.errors import AgentFailure  # noqa: E402
from runner.runtimes.local import LocalRuntime  # noqa: E402
from tests.helpers.clis import definition, make_ctx  # noqa: E402
from tests.helpers.vendor_mock import VendorMock  # noqa: E402

KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}
TARGET = 1.5


def spawn_at_once(tmp: Path, cli: str, url: str, n: int, ask: bool,
                  env: dict[str, str]) -> tuple[list[float], int, float]:
    """Seconds from the common start to each agent's ready; how many answered with their own
    token; the CPU seconds of the CLIs (their reaped process trees, until stopped)."""
    ctx = make_ctx(tmp, KEY)
    runtime = LocalRuntime(ctx, {"grace": 1.0})
    d = definition(cli, url, mode="long-lived")
    d = dataclasses.replace(d, env={**d.env, **env})
    handles = [runtime.spawn(AgentInfo(id=f"a{i}", name=f"a{i}", type=cli, definition=d)) for i in range(n)]
    own, cpu = 0, 0.0
    try:
        with ThreadPoolExecutor(n) as pool:
            t0 = time.perf_counter()

            def start(h) -> float:  # noqa: ANN001
                h.start()
                return time.perf_counter() - t0

            ready = list(pool.map(start, handles))
            if ask:
                own = sum(pool.map(lambda ih: _answers_own(*ih), enumerate(handles)))
            cpu = sum(_tree_cpu(h.health().metrics.get("pid")) for h in handles)
    finally:
        for h in handles:
            h.stop()
        runtime.cleanup()
    return ready, own, cpu


def _answers_own(i: int, handle) -> bool:  # noqa: ANN001
    """Whether agent ``i`` answers a task with its own token (a failure counts as not)."""
    try:
        result = handle.execute(TaskRequest(task_id=f"t{i}", description=f"Say it. TOKEN:w{i}x", timeout=120))
    except AgentFailure as exc:
        print(f"a{i} did not answer: {exc}", file=sys.stderr)
        return False
    return f"The token is w{i}x." in str(result.result)


def measure(tmp: Path, cli: str, url: str, n: int, alone_runs: int, env: dict[str, str]) -> str:
    alone = [spawn_at_once(tmp / f"alone{k}", cli, url, 1, False, env) for k in range(alone_runs)]
    alone_s = statistics.median(r[0][0] for r in alone)
    alone_cpu = statistics.median(r[2] for r in alone)
    own_cpu = _own_cpu()
    ready, _, cli_cpu = spawn_at_once(tmp / "many", cli, url, n, False, env)
    own_cpu = _own_cpu() - own_cpu
    _, own, _ = spawn_at_once(tmp / "ask", cli, url, n, True, env)
    last, cores = max(ready), os.cpu_count() or 1
    floor_alone = n * alone_cpu / cores / alone_s
    floor_many = cli_cpu / cores / alone_s
    extra = f" with {' '.join(f'{k}={v}' for k, v in env.items())}" if env else ""
    return (f"{cli}{extra}: one alone ready in {alone_s:.2f} s using {alone_cpu:.2f} s CPU (medians of "
            f"{alone_runs}); {n} at once: last ready {last:.2f} s, median {statistics.median(ready):.2f} s; "
            f"last / alone {last / alone_s:.2f} (target <= {TARGET}) beside the floor {n} starts x CPU per "
            f"start / {cores} cores / alone = {floor_alone:.2f} (with the CPU the {n} used at once, "
            f"{cli_cpu / n:.2f} s each: {floor_many:.2f}); runner's own CPU for the {n} starts {own_cpu:.2f} s; "
            f"{own} of {n} answered with their own token; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="claude", choices=["claude", "codex", "gemini", "aider"])
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--alone", type=int, default=3, help="runs of one agent alone (median)")
    ap.add_argument("--env", default="", help="'K=V ...': run again with these added to each CLI's env")
    ap.add_argument("--quick", action="store_true", help="4 at once, one alone run")
    args = ap.parse_args()
    n, alone_runs = (4, 1) if args.quick else (args.n, args.alone)
    variants = [{}] + ([dict(kv.split("=", 1) for kv in args.env.split())] if args.env else [])
    with VendorMock() as mock, tempfile.TemporaryDirectory() as d:
        for i, env in enumerate(variants):
            print(measure(Path(d) / f"v{i}", args.cli, mock.url, n, alone_runs, env), flush=True)


def _tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of the live process ``pid`` and its descendants, with what
    they reaped (a CLI that relaunches itself in a child, as gemini does, is one tree)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        return total
    except psutil.Error:
        return 0.0


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


if __name__ == "__main__":
    main()
