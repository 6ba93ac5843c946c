"""Make ``tests.helpers`` importable from these tests without a package-wide conftest."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
