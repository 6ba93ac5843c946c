"""A replayed `runner apply` of examples/consensus (no agent started), next to `python -c pass`.

Target: <= 0.5 s wall. The cassette is recorded once with the example's real agents first.
Run: .venv/bin/python bench/replay.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = ["examples/consensus/pattern.yaml", "--pool", "examples/consensus/pool.yaml", "-q"]


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    return statistics.median(times)


def main() -> int:
    runner = str(Path(sys.executable).with_name("runner"))
    with tempfile.TemporaryDirectory() as tmp:
        cassette = str(Path(tmp, "consensus.jsonl"))
        state = ["--state-dir", str(Path(tmp, "state"))]
        subprocess.run([runner, "apply", *EXAMPLE, *state, "--record", cassette], cwd=REPO, check=True,
                       capture_output=True)
        python = median_seconds([sys.executable, "-c", "pass"], 7)
        replay = median_seconds([runner, "apply", *EXAMPLE, *state, "--replay", cassette], 7)
    print(f"replay: python -c pass {python * 1000:.0f} ms | runner apply --replay examples/consensus "
          f"{replay * 1000:.0f} ms ({replay / python:.1f}x python)  [target <= 500 ms]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
