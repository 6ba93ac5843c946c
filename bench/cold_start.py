"""A cold `runner apply` of a one-step pattern, next to the interpreter starting and doing nothing.

Target: <= 0.6 s for runner (Prefect: ~9 s for an empty flow). Medians of several runs.
Run: .venv/bin/python bench/cold_start.py
"""

from __future__ import annotations

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
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    return statistics.median(times)


def main() -> int:
    runner = str(Path(sys.executable).with_name("runner"))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "one.yaml").write_text(PATTERN)
        python = median_seconds([sys.executable, "-c", "pass"], 7, tmp)
        version = median_seconds([runner, "--version"], 5, tmp)
        apply = median_seconds([runner, "apply", "one.yaml", "-q"], 5, tmp)
    print(f"cold start: python -c pass {python * 1000:.0f} ms | runner --version {version * 1000:.0f} ms | "
          f"runner apply (1 step, local shell agent) {apply * 1000:.0f} ms ({apply / python:.1f}x python)"
          f"  [target <= 600 ms]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
