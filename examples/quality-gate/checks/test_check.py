"""Checker: the project's unit tests pass."""

import subprocess
import sys

from _common import answer, project

root = project()
proc = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."],
                      cwd=root, capture_output=True, text=True, timeout=300)
last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
if proc.returncode == 0:
    answer("pass", 0.9, f"unit tests pass ({last})")
else:
    answer("fail", 0.9, f"unit tests fail ({last})")
