"""The real CLI (a subprocess) at its edges: output into a closed pipe, names that do not exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from journal_fixture import write_run

from runner.errors import EXIT_BROKEN_PIPE

RUN = "20261125-140000-aaaaaa"


def runner(*args: str, cwd: Path, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def into_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is gone (what `| head -1` leaves once head is done)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return runner(*args, cwd=cwd, stdout=write)
    finally:
        os.close(write)


@pytest.fixture
def state(tmp_path):
    write_run(tmp_path / ".runner", RUN)
    return tmp_path


@pytest.mark.parametrize("args", [("runs", "list"), ("runs", "list", "--json"), ("runs", "show", RUN),
                                  ("runs", "show", RUN, "--json"), ("logs", RUN)])
def test_output_into_a_closed_pipe_ends_quietly_with_141(state, args):
    done = into_closed_pipe(*args, cwd=state)
    assert (done.returncode, done.stderr) == (EXIT_BROKEN_PIPE, "")


def test_an_unknown_agent_or_step_of_logs_is_a_usage_error_naming_the_known_ones(state):
    done = runner("logs", RUN, "--agent", "nosuch", cwd=state)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: run {RUN} has no agent `nosuch` (its agents: `a1`, `a2`, `a3`)\n"
    done = runner("logs", RUN, "--agent", "a11", cwd=state)
    assert done.returncode == 2
    assert done.stderr == f"error: run {RUN} has no agent `a11`: did you mean `a1`? (its agents: `a1`, `a2`, `a3`)\n"
    done = runner("logs", RUN, "--step", "build", cwd=state)
    assert (done.returncode, done.stderr) == (2, f"error: run {RUN} has no step `build` (its steps: `deploy`, `lint`, `test`)\n")
    done = runner("logs", RUN, "--agent", "a3", cwd=state)
    assert (done.returncode, done.stdout) == (0, "a3 linted too\n")


@pytest.mark.parametrize("command", ["apply", "plan"])
def test_a_missing_pattern_named_like_a_builtin_suggests_it(tmp_path, command):
    done = runner(command, "vote", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "error: pattern file not found: vote (did you mean `builtin:vote`?)\n"
    done = runner(command, "nosuch.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, "error: pattern file not found: nosuch.yaml\n")


def test_validate_suggests_the_builtin_too(tmp_path):
    done = runner("validate", "vote.yaml", "nosuch", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ("vote.yaml: $: no such file (did you mean `builtin:vote`?)\n"
                           "nosuch: $: no such file\n2 errors in 2 files\n")
