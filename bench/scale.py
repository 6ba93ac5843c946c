"""Scale benchmark: a `forEach` over N items (default 1,000), each task a local per-task
`command` agent sleeping 1 s, `concurrency: 64`; next to the ideal (N / 64 s) and a plain thread
pool of 64 running the same processes in the same run. Prints wall ratios (target <= 1.10 ×
ideal), runner's peak RSS (target <= 400 MB), and `runner plan` of the pattern (target <= 1 s).

While `runner apply` runs, its open file descriptors and its running agents (child processes)
are sampled every 50 ms: the least-squares line fds = a × agents + b gives the fds per running
agent (target <= 4) and the constant. The same pattern also runs over a quarter of the items:
the journal's bytes per event at both sizes say whether it grows linearly with its events.

Then the same figures with 1,000 agents already registered in a real etcd (started here on
free loopback ports, throw-away data dir) and a pool that has no agent of its own, only that
etcd registry: "selection only" (``bench/scale_etcd.py`` says what that means here).

Run: .venv/bin/python bench/scale.py [--items N] [--registered N] [--only local|etcd] [--agent python|shell]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

CONCURRENCY = 64
AGENTS = {  # --agent: what each task runs (it reads its task from stdin, sleeps 1 s, answers)
    "python": [sys.executable, "-c", "import sys, time; sys.stdin.read(); time.sleep(1); print('done')"],
    "shell": ["/bin/sh", "-c", "cat > /dev/null; sleep 1; echo done"],  # ~1 ms of CPU, not ~25
}
AGENT = AGENTS["python"]


def pattern_file(d: Path, n: int) -> Path:
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
    return pattern


def pool_file(d: Path, registry: str = "") -> Path:
    """The local runtime with room for the whole fan-out; the sleeper as the pool's own agent,
    or (``registry``: a pool's ``registries:`` entry) no agent of its own."""
    pool = d / "pool.yaml"
    agents = f"""agents:
  - id: sleeper
    command: {json.dumps(AGENT)}
    capabilities: [sleep]
""" if not registry else f"registries:\n  - {registry}\n"
    pool.write_text(f"""kind: pool
name: scale
runtimes:
  - type: local
    options: {{maxParallel: {CONCURRENCY}}}
{agents}""")
    return pool


def thread_pool(n: int) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as ex:
        list(ex.map(lambda _: subprocess.run(AGENT, input=b"x", stdout=subprocess.DEVNULL, check=True), range(n)))
    return time.perf_counter() - t0


@dataclass
class Sampled:
    """What the sampler saw of one ``runner apply``: (running agents, open fds, of them pipes)
    every 50 ms, its open fds by kind when they peaked, its CPU seconds at the last sample (its
    agents not counted), its peak resident size."""

    samples: list[tuple[int, int, int]] = field(default_factory=list)
    peak: Counter[str] = field(default_factory=Counter)
    cpu: float = 0.0
    rss: int = 0


def runner(*args: str, cwd: Path, sampled: Sampled | None = None) -> float:
    """Seconds ``runner ARGS`` took, sampled into ``sampled``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("runner")), *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # the progress lines too
    done = threading.Event()
    if sampled is not None:
        threading.Thread(target=_sample, args=(proc.pid, sampled, done), daemon=True).start()
    _, err = proc.communicate()
    done.set()
    if proc.returncode != 0:
        raise SystemExit(f"runner {' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.perf_counter() - t0


def _sample(pid: int, sampled: Sampled, done: threading.Event) -> None:
    try:
        me = psutil.Process(pid)
        while not done.wait(0.05):
            agents, kinds = len(me.children()), fd_kinds(pid)
            sampled.samples.append((agents, sum(kinds.values()), kinds["pipe"]))
            if sum(kinds.values()) > sum(sampled.peak.values()):
                sampled.peak = kinds
            times = me.cpu_times()
            sampled.cpu = times.user + times.system
            sampled.rss = max(sampled.rss, me.memory_info().rss)
    except psutil.Error:  # it ended between two samples
        return


def fd_kinds(pid: int) -> Counter[str]:
    """The process's open fds by kind: ptmx, pidfd, eventfd, pipe, file, socket, ..."""
    kinds: Counter[str] = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile
            continue
        kind = target.split(":")[0] if ":" in target else target
        kinds[{"/dev/ptmx": "ptmx", "anon_inode": target[len("anon_inode:"):].strip("[]")}.get(kind, kind)
              if not kind.startswith("/") or kind == "/dev/ptmx" else "file"] += 1
    return kinds


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


def measure(d: Path, pool: Path, n: int, ideal: float, pool_s: float, label: str) -> list[str]:
    """``runner plan`` and ``runner apply`` of the pattern over ``n`` and ``n // 4`` items with
    ``pool``; the agents each step ran on; the figures, as lines."""
    pattern = pattern_file(d, n)
    plan_s = runner("plan", str(pattern), "--pool", str(pool), cwd=d)
    big, small = Sampled(), Sampled()
    run_s = runner("apply", str(pattern), "--pool", str(pool), "--state-dir", str(d / "big"),
                   "-o", str(d / "big.json"), cwd=d, sampled=big)
    runner("apply", str(pattern), "--pool", str(pool), "--state-dir", str(d / "small"),
           "--input", f"n={n // 4}", cwd=d, sampled=small)
    agents = json.loads((d / "big.json").read_text())["steps"][0]["agents"]
    jbig, jsmall = journal(d / "big"), journal(d / "small")
    slope, constant, peak_agents, peak_fds = fds_per_agent([(a, f) for a, f, _ in big.samples])
    held, held_constant, _, _ = fds_per_agent([(a, f - p) for a, f, p in big.samples])
    return [
        f"[{label}] {n} agents of 1 s, concurrency {CONCURRENCY} (ran on {', '.join(agents)}): ideal {ideal:.1f} s "
        f"| thread pool {pool_s:.2f} s ({pool_s / ideal:.2f} ×) | runner apply {run_s:.2f} s ({run_s / ideal:.2f} × "
        f"ideal, target <= 1.10; {run_s / pool_s:.2f} × the thread pool)",
        f"[{label}] peak RSS of runner apply: {big.rss / 2**20:.0f} MB (target <= 400); runner plan {plan_s:.2f} s "
        "(target <= 1)",
        f"[{label}] open fds of runner apply: {slope:.2f} per running agent + {constant:.0f} (target <= 4 per agent; "
        f"least squares over {len(big.samples)} samples; peak {peak_fds} fds with {peak_agents} agents running)",
        f"[{label}] of them held by the sessions (pipes left out: a per-task agent's stdin pipe, open while its "
        f"task is written): {held:.2f} per running agent + {held_constant:.0f}; "
        f"at the peak: {', '.join(f'{k} {v}' for k, v in big.peak.most_common())}",
        f"[{label}] journal: {jsmall[0]} events {jsmall[1] / 1024:.0f} KiB ({jsmall[1] / jsmall[0]:.0f} B/event) for "
        f"{n // 4} items; {jbig[0]} events {jbig[1] / 1024:.0f} KiB ({jbig[1] / jbig[0]:.0f} B/event) for {n}: "
        f"events × {jbig[0] / jsmall[0]:.2f}, bytes × {jbig[1] / jsmall[1]:.2f} (linear: the two ratios equal)",
        f"[{label}] runner apply's own CPU (its agents not counted): {1000 * small.cpu / (n // 4):.1f} ms per item "
        f"for {n // 4} items, {1000 * big.cpu / n:.1f} ms per item for {n} (linear: about equal); "
        f"{1000 * (big.cpu - small.cpu) / (n - n // 4):.1f} ms per item between the two (start-up left out)",
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--registered", type=int, default=1000, help="agents registered in etcd")
    ap.add_argument("--only", choices=["local", "etcd"], help="one of the two pools (default: both)")
    ap.add_argument("--quick", action="store_true", help="100 items, 100 registered agents (a smoke run)")
    ap.add_argument("--agent", choices=sorted(AGENTS), default="python",
                    help="the agent program: a Python one-liner (default) or sh + sleep (the machine's own "
                         "cost of starting 1,000 programs, which the thread pool pays too, mostly gone)")
    args = ap.parse_args()
    global AGENT
    AGENT = AGENTS[args.agent]
    n, registered = (100, 100) if args.quick else (args.items, args.registered)
    ideal = math.ceil(n / CONCURRENCY) * 1.0
    lines: list[str] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        pool_s = thread_pool(n)
        if args.only in (None, "local"):
            (Path(tmp) / "local").mkdir()
            lines += measure(Path(tmp) / "local", pool_file(Path(tmp) / "local"), n, ideal, pool_s, "local")
            load.append(os.getloadavg()[0])
        if args.only in (None, "etcd"):
            import scale_etcd  # bench/scale_etcd.py: the real etcd and its registered agents

            (Path(tmp) / "etcd").mkdir()
            with scale_etcd.registered(Path(tmp) / "etcd", AGENT, registered) as etcd:
                d = Path(tmp) / "etcd"
                ranges = etcd.range_reads()
                lines += measure(d, pool_file(d, etcd.pool_entry), n, ideal, pool_s,
                                 f"etcd, {registered} registered")
                lines.append(f"[etcd, {registered} registered] etcd range reads: {etcd.range_reads() - ranges} for "
                             "one runner plan and two runner apply (one per run)")
                lines += etcd.selection_lines()
            load.append(os.getloadavg()[0])
    print(f"agent program: {args.agent} ({' '.join(AGENT[-1:])!r})")
    print("\n".join(lines))
    print(f"load average (1 min) at start and after each part: {', '.join(f'{x:.1f}' for x in load)} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
