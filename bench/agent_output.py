"""An agent that prints a lot: runner's local runtime next to a plain read of the same PTY.

A per-task ``command`` agent prints MB megabytes of 100-character lines, then its JSON answer.
Three variants, alternated so load from other processes falls on all alike:

    plain PTY read   ptyprocess spawn + os.read until EOF (the floor: the terminal itself)
    PtySession       runner.agents.pty.PtySession waiting for the command type's login pattern
    runner apply     runner.api.apply of a one-step pattern: PTY, login matching, on_output,
                     the agent's journal transcript (capped at RUNNER_TRANSCRIPT_LIMIT, 50 MiB)

Printed: wall seconds (best and median of N runs) and their ratios to the plain read. The agent
prints 200 MB by default; issue 13 measured 96 s for runner before (a plain read of a pipe: ~3 s).
Speed targets live here, never in timed tests. Run: .venv/bin/python bench/agent_output.py [--mb 200] [-n 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ptyprocess

from runner.agents.pty import PtyEOF, PtySession, build_env
from runner.agents.types.command import DEFAULT_LOGIN_PATTERN, compile_pattern
from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

PROGRAM = """
import json, sys
block = (("x" * 99 + "\\n") * 10000).encode()  # 1 MB
for _ in range({mb}):
    sys.stdout.buffer.write(block)
sys.stdout.buffer.write(json.dumps({{"result": "done", "confidence": 0.9}}).encode() + b"\\n")
"""


def plain(argv: list[str]) -> int:
    p = ptyprocess.PtyProcess.spawn(argv, env=build_env({}), dimensions=(40, 120))
    n = 0
    while True:
        try:
            data = os.read(p.fd, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not data:
            break
        n += len(data)
    p.wait()
    p.close()
    return n


def session(argv: list[str]) -> int:
    s = PtySession(argv, env=build_env({}))
    s.start()
    try:
        s.wait_for({"login": compile_pattern(DEFAULT_LOGIN_PATTERN)}, since=0)
    except PtyEOF:
        pass
    s.close(0)
    return s.mark()


def runner_apply(argv: list[str], state: Path) -> int:
    pool = parse_pool("kind: pool\nname: bench\nagents:\n  - id: big\n    command: " + repr(argv).replace("'", '"')
                      + "\n    capabilities: [big]\n", "pool.yaml")
    pattern = parse_pattern("name: big\nsteps:\n  - id: s\n    agents: {capabilities: [big]}\n    task: go\n",
                            "pattern.yaml")
    outcome = apply(pattern, pool, {}, ctx=RunContext(state_dir=state))
    assert outcome.exit_code == 0, outcome.result.get("error")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="megabytes the agent prints")
    parser.add_argument("-n", "--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "big.py"
        script.write_text(PROGRAM.format(mb=args.mb))
        argv = [sys.executable, str(script)]
        variants: dict[str, Callable[[], object]] = {
            "plain PTY read": lambda: plain(argv),
            "PtySession": lambda: session(argv),
            "runner apply": lambda: runner_apply(argv, Path(tmp) / "state"),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, run in variants.items():
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain PTY read"])
    print(f"{args.mb} MB from one agent, {args.runs} runs (wall seconds)")
    print(f"{'variant':16} {'best':>8} {'median':>8} {'/plain':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:16} {min(ts):8.2f} {med:8.2f} {med / base:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
