"""A replayed `runner apply` of examples/consensus (no agent started), next to `python -c pass`.

Target: <= 0.5 s wall. The cassette is recorded once with the example's real agents first.
Run: .venv/bin/python bench/replay.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from cold_start import median_seconds  # bench/ is on sys.path: scripts run from it

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = ["examples/consensus/pattern.yaml", "--pool", "examples/consensus/pool.yaml", "-q"]


def main() -> int:
    runner = str(Path(sys.executable).with_name("runner"))
    with tempfile.TemporaryDirectory() as tmp:
        cassette = str(Path(tmp, "consensus.jsonl"))
        state = ["--state-dir", str(Path(tmp, "state"))]
        subprocess.run([runner, "apply", *EXAMPLE, *state, "--record", cassette], cwd=REPO, check=True,
                       capture_output=True)
        python = median_seconds([sys.executable, "-c", "pass"], 7, str(REPO))
        replay = median_seconds([runner, "apply", *EXAMPLE, *state, "--replay", cassette], 7, str(REPO))
    print(f"replay: python -c pass {python * 1000:.0f} ms | runner apply --replay examples/consensus "
          f"{replay * 1000:.0f} ms ({replay / python:.1f}x python)  [target <= 500 ms]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
