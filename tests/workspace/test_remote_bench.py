"""The remote-workspace benchmark still runs (a small repository; the numbers are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_prints_send_and_back_next_to_local() -> None:
    out = subprocess.run([sys.executable, "bench/remote_workspace.py", "-n", "1", "--files", "50"], cwd=REPO,
                         capture_output=True, text=True, timeout=100, check=True).stdout
    lines = out.splitlines()
    assert lines[1].split() == ["pack", "receive", "local", "send/local", "back", "diff", "back/diff"]
    assert len(lines[2].split()) == 7 and all(float(v) > 0 for v in lines[2].split())
