"""The protocol benchmark still runs (a few calls; the numbers are not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from protocol_helpers import REPO

pytestmark = pytest.mark.pty


def test_bench_prints_both_protocols_side_by_side():
    out = subprocess.run([sys.executable, "bench/protocol_overhead.py", "--calls", "5"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    header = out.splitlines()[1].split()
    assert header[:6] == ["agent", "raw", "http", "http/raw", "grpc", "grpc/raw"]
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["noop", "repl"]
