"""Bad input never gives a traceback: a clear error, a defined exit code, and what was already
produced stays in the journal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from e2e_run import assert_no_traceback, env, events, run, run_dirs, write_yaml

pytestmark = pytest.mark.pty

GARBAGE = str(Path(__file__).resolve().parents[1] / "helpers" / "programs" / "garbage.py")


def one_line_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def two_steps(tmp_path: Path, second: dict) -> None:
    write_yaml(tmp_path / "p.yaml", {"name": "two", "inputs": {"n": {"type": "integer", "default": 1}}, "steps": [
        {"id": "first", "agents": {"capabilities": ["shell"]}, "task": "echo first; echo CONFIDENCE: 0.9"},
        {"id": "second", "needs": ["first"], **second}]})


def assert_first_kept(tmp_path: Path) -> None:
    run_dir = run_dirs(tmp_path)[0]
    finished = {e["step"]: e for e in events(run_dir) if e["event"] == "step_finished"}
    assert finished["first"]["status"] == "succeeded" and finished["first"]["output"] == "first"
    result = json.loads((run_dir / "result.json").read_text())
    assert result["steps"][0]["status"] == "succeeded" and result["steps"][0]["output"] == "first"


def test_an_undefined_variable_at_run_time_names_the_step_and_the_place(tmp_path: Path) -> None:
    two_steps(tmp_path, {"agents": {"capabilities": ["shell"]}, "task": "echo {{ steps.first.output.nope }}"})
    proc = run(["apply", "p.yaml"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert one_line_error(proc.stderr) == (
        "error: step `second` failed: p.yaml:29:7: $.steps[1].task: step `second`: "
        "template uses an undefined value: 'str object' has no attribute 'nope'")
    assert_first_kept(tmp_path)


def test_a_program_printing_garbage_is_a_parse_failure(tmp_path: Path) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "junk", "command": [sys.executable, GARBAGE], "capabilities": ["junk"]}],
        "templates": [{"name": "sh", "command": ["sh", "-s"], "capabilities": ["shell"]}]})
    two_steps(tmp_path, {"agents": {"capabilities": ["junk"]}, "task": "anything"})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert_no_traceback(proc)
    assert one_line_error(proc.stderr) == (
        "error: step `second` failed: step `second` got no answer after 1 failed attempt(s); "
        "last: junk: the reported confidence is not a number")
    assert_first_kept(tmp_path)


def test_a_program_that_does_not_exist_is_an_infrastructure_error(tmp_path: Path) -> None:
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "ghost", "command": [str(tmp_path / "no-such-program")], "capabilities": ["ghost"]}],
        "templates": [{"name": "sh", "command": ["sh", "-s"], "capabilities": ["shell"]}]})
    two_steps(tmp_path, {"agents": {"capabilities": ["ghost"]}, "task": "anything"})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert_no_traceback(proc)
    line = one_line_error(proc.stderr)
    assert line.endswith(f"ghost: program `{tmp_path / 'no-such-program'}` does not exist or is not executable")
    assert_first_kept(tmp_path)


@pytest.mark.parametrize(("arg", "message"), [
    ("n=abc", 'error: --input: n: expected an integer, got "abc"'),
    ("zz=1", "error: --input: zz: unknown input `zz` (expected one of: `n`)"),
    ("novalue", "error: --input expects NAME=VALUE, got 'novalue'"),
])
def test_invalid_inputs_exit_2_before_anything_starts(tmp_path: Path, arg: str, message: str) -> None:
    two_steps(tmp_path, {"agents": {"capabilities": ["shell"]}, "task": "echo {{ inputs.n }}"})
    proc = run(["apply", "p.yaml", "--input", arg], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert proc.stderr.startswith(message), proc.stderr
    assert not (tmp_path / ".runner").exists()


def test_invalid_json_in_runner_local_agents_exits_2(tmp_path: Path) -> None:
    two_steps(tmp_path, {"agents": {"capabilities": ["shell"]}, "task": "echo two"})
    proc = run(["apply", "p.yaml"], tmp_path, env=env(RUNNER_LOCAL_AGENTS='[{"id": '))
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert proc.stderr.startswith("error: RUNNER_LOCAL_AGENTS:1:9: $: invalid JSON: "), proc.stderr
    assert not (tmp_path / ".runner").exists()


def test_output_in_a_new_folder_is_written_and_an_unwritable_one_is_a_usage_error(tmp_path: Path) -> None:
    two_steps(tmp_path, {"agents": {"capabilities": ["shell"]}, "task": "echo two"})
    proc = run(["apply", "p.yaml", "-o", "new/folder/result.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "new/folder/result.json").read_text())["status"] == "succeeded"
    (tmp_path / "taken").write_text("a file, not a folder")
    before = set(run_dirs(tmp_path))
    proc = run(["apply", "p.yaml", "-o", "taken/result.json"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    [run_dir] = set(run_dirs(tmp_path)) - before  # run ids of the same second do not sort by time
    assert one_line_error(proc.stderr) == (
        f"error: cannot write --output taken/result.json: File exists; the result is in {run_dir.relative_to(tmp_path)}/result.json")
    assert json.loads((run_dir / "result.json").read_text())["status"] == "succeeded"
