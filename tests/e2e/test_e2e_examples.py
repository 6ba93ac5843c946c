"""The shipped examples, run from the repository root as the README says (`make demo`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e_run import REPO, assert_no_traceback, run

pytestmark = pytest.mark.pty

GATE = ["apply", "examples/quality-gate/pattern.yaml", "--pool", "examples/quality-gate/pool.yaml"]


def test_the_quality_gate_demo_passes_and_prints_the_verdict(tmp_path: Path) -> None:
    proc = run([*GATE, "--state-dir", str(tmp_path / "state"), "-o", str(tmp_path / "r.json")], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert "output verdict: pass" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["outputs"]["verdict"] == "pass"


def test_the_quality_gate_fails_a_broken_project_with_exit_1(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples/quality-gate/sample_project", project,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / "calc" / "broken.py").write_text('"""Broken."""\n\ndef broken(:\n    pass\n')
    with (project / "tests" / "test_core.py").open("a") as f:
        f.write("\n    def test_that_fails(self) -> None:\n        self.assertEqual(add(1, 1), 3)\n")
    proc = run([*GATE, "--input", f"project={project}", "--state-dir", str(tmp_path / "state"),
                "-o", str(tmp_path / "r.json")], REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    result = json.loads((tmp_path / "r.json").read_text())
    steps = {s["id"]: s for s in result["steps"]}
    assert steps["checks"]["output"] == "fail"
    assert steps["checks"]["aggregation"]["votes"] == {"fail": 3}
    assert steps["gate"]["status"] == "failed"
    assert "gate: the program exited with status 1: gate closed: the verdict is 'fail'" in proc.stderr
    assert "output verdict: fail" in proc.stdout


def test_the_consensus_example_prints_both_outputs(tmp_path: Path) -> None:
    proc = run(["apply", "examples/consensus/pattern.yaml", "--pool", "examples/consensus/pool.yaml",
                "--state-dir", str(tmp_path / "state")], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert "output consensus: " in proc.stdout and "output decision: " in proc.stdout
