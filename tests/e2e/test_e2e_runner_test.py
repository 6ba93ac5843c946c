"""`runner test`: the shipped pattern tests pass; a failing expectation and a bad test file say why."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from e2e_run import REPO, assert_no_traceback, run

FAILING = """kind: test
pattern: {pattern}
tests:
  - name: expects the wrong answer
    inputs: {{question: "Capital of France?"}}
    answers:
      vote: {{answer: Paris, confidence: 0.9}}
    expect:
      outputs: {{answer: Lyon}}
  - name: a step with no scripted answer
    inputs: {{question: "Capital of France?"}}
    answers: {{}}
    expect:
      steps: {{vote: succeeded}}
"""


def test_the_built_in_patterns_and_the_examples_pass_their_tests(tmp_path: Path) -> None:
    proc = run(["test", "examples", "tests/data/patterns", "--junit", str(tmp_path / "t.xml")], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests/data/patterns/vote.test.yaml::the majority answer wins PASSED" in proc.stdout
    assert "examples/consensus/consensus.test.yaml::everyone agrees PASSED" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("13 passed, 0 failed in ")  # route.test.yaml: 3
    suite = ET.parse(tmp_path / "t.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("13", "0")


def test_a_failing_expectation_prints_the_step_the_expected_and_the_actual(tmp_path: Path) -> None:
    (tmp_path / "vote.test.yaml").write_text(FAILING.format(pattern="builtin:vote"))
    proc = run(["test", str(tmp_path), "--junit", str(tmp_path / "t.xml")], REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert f"{tmp_path}/vote.test.yaml::expects the wrong answer FAILED" in proc.stdout
    assert "  output `answer`: expected 'Lyon', actual 'Paris'" in proc.stdout
    assert ("  step `vote`: expected status succeeded, actual failed (step `vote` got no answer after 3 failed "
            "attempt(s); last: scripted-") in proc.stdout  # whichever of the three failed last
    assert f": step `vote`: {tmp_path}/vote.test.yaml scripts no answer for it (of agent scripted-" in proc.stdout
    assert "  exit code: expected 0, actual 2 (step `vote`: " in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("0 passed, 2 failed in ")
    failures = ET.parse(tmp_path / "t.xml").getroot().findall("testcase/failure")
    assert [f.get("message") for f in failures][0] == "output `answer`: expected 'Lyon', actual 'Paris'"


def test_a_bad_test_file_is_an_error_at_its_line_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.test.yaml"
    path.write_text("kind: test\npattern: builtin:vote\ntests:\n  - name: x\n    expect: {exitcode: 1}\n")
    proc = run(["test", str(path)], REPO)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert f"{path}:5:14: $.tests[0].expect.exitcode:" in proc.stderr


def test_no_test_files_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(["test", str(tmp_path)], REPO)
    assert proc.returncode == 2
    assert f"no test files (*.test.yaml) under {tmp_path}" in proc.stderr
