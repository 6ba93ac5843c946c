"""A cold `runner apply` of a one-step pattern, next to the interpreter starting and doing nothing.

Target: <= 0.4 s for runner (Prefect: ~9 s for an empty flow). Medians of several runs, of the
wall clock and of the CPU time (user + system) the command took: on a loaded machine the CPU
time is the steadier figure. The runner package is byte-compiled first, as an installed one is
(pip compiles at install; an editable checkout run with PYTHONDONTWRITEBYTECODE=1 would compile
~100 modules on every start instead).
Run: .venv/bin/python bench/cold_start.py
"""

from __future__ import annotations

import compileall
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PATTERN = """name: one-step
steps:
  - id: hello
    agents: {capabilities: [shell]}
    task: echo hello
"""


def median_seconds(argv: list[str], runs: int, cwd: str) -> float:
    return median_wall_and_cpu(argv, runs, cwd)[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_wall_and_cpu(argv: list[str], runs: int, cwd: str) -> tuple[float, float]:
    """Medians of the wall clock and of the CPU time (user + system) of ``argv``'s runs."""
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    import runner as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    runner = str(Path(sys.executable).with_name("runner"))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "one.yaml").write_text(PATTERN)
        python, python_cpu = median_wall_and_cpu([sys.executable, "-c", "pass"], 7, tmp)
        version, _ = median_wall_and_cpu([runner, "--version"], 5, tmp)
        apply, apply_cpu = median_wall_and_cpu([runner, "apply", "one.yaml", "-q"], 7, tmp)
    print(f"cold start: python -c pass {python * 1000:.0f} ms (cpu {python_cpu * 1000:.0f} ms) | "
          f"runner --version {version * 1000:.0f} ms | runner apply (1 step, local shell agent) "
          f"{apply * 1000:.0f} ms, cpu {apply_cpu * 1000:.0f} ms ({apply / python:.1f}x python, cpu "
          f"{apply_cpu / python_cpu:.1f}x)  [target <= 400 ms: cpu {apply_cpu / 0.4:.2f} of it]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
