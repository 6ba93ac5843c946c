"""Counts files, lines and tests of the project (the example's first step)."""

import json

from _common import project, python_files

root = project()
files = python_files(root)
lines = sum(len(p.read_text().splitlines()) for p in files)
tests = sum(p.read_text().count("def test_") for p in files)
print(json.dumps({"result": {"files": len(files), "lines": lines, "tests": tests}, "confidence": 1.0,
                  "reasoning": f"scanned {root}"}))
