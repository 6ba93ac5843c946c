"""The workspace benchmark still runs (a small repository; the numbers are not asserted, but
runner's patch must be byte-identical to the bare `git diff --cached --binary`: the bench
exits with a message when it is not)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_prints_each_row_next_to_bare_git() -> None:
    proc = subprocess.run([sys.executable, "bench/workspace.py", "-n", "1", "--files", "40", "--binary-mb", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=100)
    assert proc.returncode in (0, 1), proc.stderr  # 1: a ratio over its target (timing is not tested)
    rows = {line.split()[0] + (" x8" if " x8 " in line else "") + (" bin" if " bin " in line else ""): line.split()
            for line in proc.stdout.splitlines()[2:6]}
    assert set(rows) == {"prepare", "prepare x8", "capture", "capture bin"}
    assert all(r[-1] in ("ok", "OVER") for r in rows.values())
    assert "byte-identical in every run" in proc.stdout
