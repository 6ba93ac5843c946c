"""Loading benchmark: load + validate + compile of generated 1,000- and 10,000-step patterns,
next to a plain ``yaml.safe_load`` of the same text; ``runner validate`` of 500 pattern files;
``python -c pass`` as the floor of any command.

Targets (2 cores): 1,000 steps <= 150 ms, 10,000 steps <= 1.5 s, validate of 500 files <= 1 s.
Each figure is the wall clock and the CPU time (the steadier one on a loaded machine); the
baselines are the pure-Python ``yaml.safe_load`` and libyaml's ``yaml.load(CSafeLoader)`` (what
runner composes with) of the same text. The runner package is byte-compiled first, as an
installed one is (see cold_start.py).

Run: .venv/bin/python bench/loading.py [--quick]
"""

from __future__ import annotations

import argparse
import compileall
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _timing import best_cpu

from runner.agents.inprocess import PythonAgent
from runner.api import plan
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: bench\n", "pool.yaml")
RUNNER = Path(sys.executable).with_name("runner")


def pattern_text(n: int, tag: str = "") -> str:
    """n steps in 10 chains, each step with agents, a templated task, retry. ``tag`` goes into
    every task text: a new tag is a pattern whose templates no cache of an earlier load holds."""
    steps = "".join(
        f"  - id: s{i}\n    agents: {{capabilities: [noop]}}\n    task: \"part {i}{tag}: {{{{ inputs.topic }}}}\"\n"
        + (f"    needs: [s{i - 10}]\n" if i >= 10 else "") + "    retry: {limit: 1}\n"
        for i in range(n))
    return f"name: big\ninputs:\n  topic: {{type: string, default: x}}\nsteps:\n{steps}"


def bench_pattern(n: int, repeat: int) -> None:
    texts = [pattern_text(n, f" r{k}") for k in range(repeat)]  # cold template caches each time
    agent = PythonAgent("noop", lambda r: "ok", capabilities=("noop",))
    raw = best_cpu(lambda k: yaml.safe_load(texts[k]), repeat)
    craw = best_cpu(lambda k: yaml.load(texts[k], Loader=yaml.CSafeLoader), repeat)  # noqa: S506 - the safe C loader
    load = best_cpu(lambda k: parse_pattern(texts[k], "big.yaml"), repeat)
    patterns = [parse_pattern(pattern_text(n, f" c{k}"), "big.yaml") for k in range(repeat)]
    comp = best_cpu(lambda k: plan(patterns[k], POOL, {}, handles=[agent]), repeat)
    target = 0.150 if n <= 1000 else 1.5
    wall, cpu = load[0] + comp[0], load[1] + comp[1]
    print(f"{n:>6}-step pattern: load+validate {1000 * load[0]:7.1f} ms (cpu {1000 * load[1]:6.1f}), compile "
          f"{1000 * comp[0]:6.1f} ms (cpu {1000 * comp[1]:6.1f}), total {1000 * wall:7.1f} ms, cpu {1000 * cpu:7.1f} ms "
          f"({cpu / target:.2f} of the {1000 * target:.0f} ms target); yaml.safe_load alone {1000 * raw[0]:6.1f} ms "
          f"(cpu {1000 * raw[1]:6.1f}), CSafeLoader {1000 * craw[0]:6.1f} ms (cpu {1000 * craw[1]:6.1f}); "
          f"runner/CSafeLoader cpu {cpu / craw[1]:.2f} (steady on a loaded machine)")


def bench_validate(files: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i in range(files):
            p = Path(d) / f"p{i}.yaml"
            p.write_text(pattern_text(5).replace("name: big", f"name: p{i}"))
            paths.append(str(p))
        floor = _child([sys.executable, "-c", "pass"])
        wall, cpu = _child([str(RUNNER), "validate", *paths])
        raw = _child([sys.executable, "-c", "import sys, yaml\nfor p in sys.argv[1:]: yaml.safe_load(open(p))", *paths])
    print(f"runner validate of {files} files: {wall:.2f} s, cpu {cpu:.2f} s ({cpu:.2f} of the 1 s target); "
          f"python -c pass {floor[0]:.3f} s (cpu {floor[1]:.3f}); python + yaml.safe_load of the same files "
          f"{raw[0]:.2f} s (cpu {raw[1]:.2f}); runner/safe_load cpu {cpu / raw[1]:.2f}")


def _child(argv: list[str]) -> tuple[float, float]:
    """(wall, cpu) of one run of ``argv``."""
    u0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args()
    import runner as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    bench_pattern(1000, 1 if args.quick else 5)
    if not args.quick:
        bench_pattern(10_000, 2)
    bench_validate(50 if args.quick else 500)


if __name__ == "__main__":
    main()
