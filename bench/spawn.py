"""Spawn-to-ready of a PTY agent: runner's local runtime next to bare ptyprocess / pexpect spawns.

Every variant starts the same program in a fresh PTY (`sh -c 'printf "ready> "; read line'`),
waits for its prompt ("spawn-to-ready"), then stops it ("cycle": spawn, ready, stopped and
reaped). The variants run in alternation, so load from other processes falls on all of them
alike; best and median of N runs are printed, with ratios to bare pexpect with its delays off.

    bare ptyprocess          PtyProcess.spawn + read; stop: SIGKILL, wait, close
    pexpect, default delays  pexpect.spawn + expect (delaybeforesend 0.05 s, delayafterclose 0.1 s, ...)
    pexpect, delays off      the same with every delay 0, stopped like bare ptyprocess (the reference)
    runner PtySession        runner.agents.pty.PtySession: start, wait_for, close
    runner local runtime     LocalRuntime.spawn(long-lived command agent).start(), stop(force)

Target: the local runtime's spawn-to-ready <= 1.5x bare pexpect with delays off.
Speed targets live here, never in timed tests. Run: .venv/bin/python bench/spawn.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import ptyprocess

from runner.agents.model import AgentInfo
from runner.agents.pty import PtySession, build_env
from runner.context import RunContext
from runner.runtimes.local import LocalRuntime
from runner.spec.models import AgentDef

ARGV = ["/bin/sh", "-c", 'printf "ready> "; read line']
PROMPT = "ready> "
TARGET = 1.5

# A variant returns (seconds to ready, seconds for the whole cycle).
Variant = Callable[[], tuple[float, float]]


def bare_ptyprocess() -> tuple[float, float]:
    env = build_env({})
    t0 = time.perf_counter()
    p = ptyprocess.PtyProcess.spawn(ARGV, env=env, dimensions=(40, 120))
    p.delayafterclose = p.delayafterterminate = 0
    seen = b""
    while PROMPT.encode() not in seen:
        seen += p.read(1024)
    ready = time.perf_counter()
    p.kill(signal.SIGKILL)  # close(force=True) without delays gives up before the child is gone
    p.wait()
    p.close()
    return ready - t0, time.perf_counter() - t0


def pexpect_variant(delays: bool) -> Variant:
    def run() -> tuple[float, float]:
        env = build_env({})
        t0 = time.perf_counter()
        child = pexpect.spawn(ARGV[0], ARGV[1:], env=env, encoding="utf-8", dimensions=(40, 120))
        if not delays:
            child.delaybeforesend = None
            child.delayafterclose = child.delayafterterminate = 0
            child.ptyproc.delayafterclose = child.ptyproc.delayafterterminate = 0
        child.expect_exact(PROMPT, timeout=10)
        ready = time.perf_counter()
        if delays:
            child.close(force=True)  # as pexpect users stop a child: terminate() with its delays
        else:
            child.kill(signal.SIGKILL)
            child.wait()
            child.close()
        return ready - t0, time.perf_counter() - t0

    return run


def pty_session() -> tuple[float, float]:
    env = build_env({})
    t0 = time.perf_counter()
    s = PtySession(ARGV, env=env)
    s.start()
    s.wait_for({"ready": re.compile(re.escape(PROMPT))}, timeout=10)
    ready = time.perf_counter()
    s.close(grace=0)
    return ready - t0, time.perf_counter() - t0


def local_runtime(runtime: LocalRuntime) -> Variant:
    definition = AgentDef(command=tuple(ARGV), mode="long-lived", ready_pattern=re.escape(PROMPT) + "$")
    count = iter(range(1_000_000))

    def run() -> tuple[float, float]:
        agent_id = f"bench-{next(count)}"
        t0 = time.perf_counter()
        handle = runtime.spawn(AgentInfo(id=agent_id, name=agent_id, type="command", definition=definition))
        handle.start()
        ready = time.perf_counter()
        handle.stop(force=True)
        return ready - t0, time.perf_counter() - t0

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=25, help="runs of each variant (default 25)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = RunContext(workdir=Path(tmp), state_dir=Path(tmp) / ".runner")
        runtime = LocalRuntime(ctx, {"grace": 0.5, "start_timeout": 10})
        variants: dict[str, Variant] = {
            "bare ptyprocess": bare_ptyprocess,
            "pexpect, default delays": pexpect_variant(True),
            "pexpect, delays off": pexpect_variant(False),
            "runner PtySession": pty_session,
            "runner local runtime": local_runtime(runtime),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        try:
            for fn in variants.values():  # warm-up: imports, first fork
                fn()
            for _ in range(args.runs):
                for name, fn in variants.items():
                    times[name].append(fn())
        finally:
            runtime.cleanup()
    best = {name: (min(r for r, _ in runs), min(c for _, c in runs)) for name, runs in times.items()}
    ref, raw = best["pexpect, delays off"], best["bare ptyprocess"]
    print(f"spawn-to-ready and full cycle (spawn, ready, stopped) of `{' '.join(ARGV)}`, {args.runs} runs each;")
    print("ratios of best-of-N times: to bare pexpect with delays off (x pexpect) and to bare ptyprocess (x pty)")
    print(f"{'variant':<25}{'ready':>9}{'median':>9}{'x pexpect':>10}{'x pty':>7}"
          f"{'cycle':>11}{'median':>9}{'x pexpect':>10}{'x pty':>7}")
    for name, runs in times.items():
        ready, cycle = best[name]
        print(f"{name:<25}{ready * 1e3:>7.2f}ms{statistics.median(r for r, _ in runs) * 1e3:>7.2f}ms"
              f"{ready / ref[0]:>9.2f}x{ready / raw[0]:>6.2f}x"
              f"{cycle * 1e3:>9.2f}ms{statistics.median(c for _, c in runs) * 1e3:>7.2f}ms"
              f"{cycle / ref[1]:>9.2f}x{cycle / raw[1]:>6.2f}x")
    mine = best["runner local runtime"][0]
    for label, base in (("bare pexpect, delays off", ref[0]), ("bare ptyprocess", raw[0])):
        verdict = "met" if mine / base <= TARGET else "MISSED"
        print(f"target: local runtime spawn-to-ready <= {TARGET}x {label}: {mine / base:.2f}x, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
