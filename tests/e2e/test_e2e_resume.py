"""`runner apply --resume RUN_ID` and `cache: true`: steps that succeeded with an unchanged
fingerprint are reused, the rest runs again; bad journals are refused with exit 2; a real
`kill -9` of a real `runner apply` (first and resumed) leaves a journal that resumes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_run import RUNNER, assert_no_traceback, env, events, run, run_dirs, write_yaml

from runner.journal import RunLock, read_events
from runner.observe.report import validate_result

pytestmark = pytest.mark.pty

PATTERN = """kind: pattern
name: resumable
version: "1"
inputs:
  who: {type: string, default: world}
steps:
  - id: a
    agents: {capabilities: [shell]}
    task: echo alpha-{{ inputs.who }}
  - id: b
    agents: {capabilities: [shell]}
    task: "echo {{ steps.a.output }}-beta"
  - id: c
    needs: [b]
    agents: {capabilities: [shell]}
    task: cat flag
  - id: d
    agents: {capabilities: [shell]}
    task: "echo {{ steps.c.output }}-delta"
  - id: e
    agents: {capabilities: [shell]}
    task: echo epsilon
outputs:
  d: "{{ steps.d.output }}"
"""


def _result(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def _steps(result: dict) -> dict[str, tuple[str, str | None]]:  # type: ignore[type-arg]
    return {s["id"]: (s["status"], s.get("reusedFrom")) for s in result["steps"]}


def _ran(run_dir: Path) -> set[str]:
    """The steps of a run whose agents got a task."""
    return {e["step"] for e in read_events(run_dir) if e["event"] == "attempt_started"}


def _first_run(tmp_path: Path) -> tuple[str, Path]:
    (tmp_path / "p.yaml").write_text(PATTERN)
    first = run(["apply", "p.yaml", "-q", "-o", "r1.json"], tmp_path)
    assert first.returncode == 1, first.stderr  # c fails: no flag file
    result = _result(tmp_path / "r1.json")
    assert _steps(result)["c"][0] == "failed" and _steps(result)["d"][0] == "cancelled"
    return result["runId"], Path(tmp_path / ".runner" / "runs" / result["runId"])


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one first run (step c failed), made once for the tests that only refuse it."""
    folder = tmp_path_factory.mktemp("first-run")
    _first_run(folder)
    return folder


def _copy_of_first_run(failed_run: Path, tmp_path: Path) -> tuple[str, Path]:
    """``_first_run`` for a test that damages or locks the run: its own copy of ``failed_run``."""
    shutil.copytree(failed_run, tmp_path, dirs_exist_ok=True)
    run_id = _result(tmp_path / "r1.json")["runId"]
    return run_id, tmp_path / ".runner" / "runs" / run_id


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_resume_reuses_what_succeeded_and_runs_the_failed_step_and_what_follows(tmp_path: Path) -> None:
    first_id, _ = _first_run(tmp_path)
    (tmp_path / "flag").write_text("gamma\n")
    resumed = run(["apply", "--resume", first_id, "-q", "-o", "r2.json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    result = _result(tmp_path / "r2.json")
    assert validate_result(result) == []
    assert result["resumedFrom"] == first_id
    assert _steps(result) == {"a": ("succeeded", first_id), "b": ("succeeded", first_id), "c": ("succeeded", None),
                              "d": ("succeeded", None), "e": ("succeeded", first_id)}
    assert result["outputs"] == {"d": "gamma-delta"}
    run_dir = tmp_path / ".runner" / "runs" / result["runId"]
    assert _ran(run_dir) == {"c", "d"}  # no agent got a, b or e
    reused = [e for e in events(run_dir) if e["event"] == "step_finished" and e.get("reusedFrom")]
    assert {(e["step"], e["reusedFrom"]) for e in reused} == {("a", first_id), ("b", first_id), ("e", first_id)}
    # the reused steps' records are the first run's (templates downstream saw the same)
    first = {s["id"]: s for s in _result(tmp_path / "r1.json")["steps"]}
    for s in result["steps"]:
        if s["reusedFrom"] if "reusedFrom" in s else False:
            assert s["output"] == first[s["id"]]["output"]
            assert [a["result"] for a in s["attempts"]] == [a["result"] for a in first[s["id"]]["attempts"]]
            assert s["fingerprint"] == first[s["id"]]["fingerprint"]
    shown = run(["runs", "show", result["runId"]], tmp_path)
    assert f"a     reused (from {first_id})" in shown.stdout
    assert f"resumed   from run {first_id}" in shown.stdout
    report = run(["report", result["runId"], "--out", "r.html"], tmp_path)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count('class="pill reused"') == 3 and f"reused from run <code>{first_id}</code>" in page


@pytest.mark.slow  # fast lane: resume: the other tests here, tests/resume/
def test_a_resume_of_a_resume_names_the_run_each_step_first_ran_in(tmp_path: Path) -> None:
    first_id, _ = _first_run(tmp_path)
    (tmp_path / "flag").write_text("gamma\n")
    second = _result(tmp_path / "r2.json") if run(["apply", "--resume", first_id, "-q", "-o", "r2.json"],
                                                   tmp_path).returncode == 0 else None
    assert second is not None
    third = run(["apply", "--resume", second["runId"], "-q", "-o", "r3.json"], tmp_path)
    assert third.returncode == 0, third.stderr
    assert _steps(_result(tmp_path / "r3.json")) == {
        "a": ("succeeded", first_id), "b": ("succeeded", first_id), "c": ("succeeded", second["runId"]),
        "d": ("succeeded", second["runId"]), "e": ("succeeded", first_id)}
    assert _ran(tmp_path / ".runner" / "runs" / _result(tmp_path / "r3.json")["runId"]) == set()
    # a step reused twice has the attempts of the run it ran in (read from that run's journal)
    third_steps = {s["id"]: s for s in _result(tmp_path / "r3.json")["steps"]}
    first_steps = {s["id"]: s for s in _result(tmp_path / "r1.json")["steps"]}
    # (its times are the journal's events', a millisecond or so from result.json's own clock readings)
    again, then = third_steps["a"]["attempts"][0], first_steps["a"]["attempts"][0]
    for key in ("startedAt", "finishedAt", "durationMs"):
        assert again.pop(key) is not None and then.pop(key) is not None
    assert again == then
    # without the journal of the run a step ran in, it runs again (its record cannot be had whole)
    import shutil

    shutil.rmtree(tmp_path / ".runner" / "runs" / first_id)
    fourth = run(["apply", "--resume", second["runId"], "-q", "-o", "r4.json"], tmp_path)
    assert fourth.returncode == 0, fourth.stderr
    assert _steps(_result(tmp_path / "r4.json"))["a"] == ("succeeded", None)
    assert _steps(_result(tmp_path / "r4.json"))["c"] == ("succeeded", second["runId"])


@pytest.mark.slow  # fast lane: fingerprints: tests/resume/test_fingerprint.py
def test_changed_inputs_or_pattern_file_run_every_step_again(tmp_path: Path) -> None:
    first_id, _ = _first_run(tmp_path)
    (tmp_path / "flag").write_text("gamma\n")
    other = run(["apply", "--resume", first_id, "-q", "-o", "r2.json", "--input", "who=you"], tmp_path)
    assert other.returncode == 0, other.stderr
    assert all(r is None for _, r in _steps(_result(tmp_path / "r2.json")).values())
    assert _result(tmp_path / "r2.json")["steps"][0]["output"] == "alpha-you"
    (tmp_path / "p.yaml").write_text(PATTERN + "# an edit\n")
    edited = run(["apply", "--resume", first_id, "-q", "-o", "r3.json"], tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert all(r is None for _, r in _steps(_result(tmp_path / "r3.json")).values())


def test_a_changed_agent_definition_runs_its_steps_and_everything_downstream_again(tmp_path: Path) -> None:
    pattern = """kind: pattern
name: two-agents
version: "1"
steps:
  - id: a
    agents: {capabilities: [first]}
    task: one
  - id: b
    agents: {capabilities: [second]}
    task: "{{ steps.a.output }}"
  - id: c
    agents: {capabilities: [second]}
    task: three
"""
    (tmp_path / "p.yaml").write_text(pattern)

    def pool(first_prefix: str) -> None:
        write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "two", "templates": [
            {"name": "first", "type": "command", "command": ["sh", "-c", f"read t; echo {first_prefix}$t"],
             "capabilities": ["first"]},
            {"name": "second", "type": "command", "command": ["sh", "-c", "read t; echo got-$t"],
             "capabilities": ["second"]}]})

    pool("x-")
    first = run(["apply", "p.yaml", "--pool", "pool.yaml", "-q", "-o", "r1.json"], tmp_path)
    assert first.returncode == 0, first.stderr
    first_id = _result(tmp_path / "r1.json")["runId"]
    pool("y-")
    again = run(["apply", "--resume", first_id, "-q", "-o", "r2.json"], tmp_path)
    assert again.returncode == 0, again.stderr
    result = _result(tmp_path / "r2.json")
    assert _steps(result) == {"a": ("succeeded", None), "b": ("succeeded", None), "c": ("succeeded", first_id)}
    assert [s["output"] for s in result["steps"]] == ["y-one", "got-y-one", "got-three"]


def test_a_step_with_cache_true_reuses_the_newest_success_of_any_past_run(tmp_path: Path) -> None:
    pattern = """kind: pattern
name: cached
version: "1"
steps:
  - id: slow
    cache: true
    agents: {capabilities: [shell]}
    task: "cat counter"
  - id: fresh
    agents: {capabilities: [shell]}
    task: "cat counter"
"""
    (tmp_path / "p.yaml").write_text(pattern)
    (tmp_path / "counter").write_text("1\n")
    first = run(["apply", "p.yaml", "-q", "-o", "r1.json"], tmp_path)
    assert first.returncode == 0, first.stderr
    first_id = _result(tmp_path / "r1.json")["runId"]
    (tmp_path / "counter").write_text("2\n")
    second = run(["apply", "p.yaml", "-q", "-o", "r2.json"], tmp_path)
    assert second.returncode == 0, second.stderr
    result = _result(tmp_path / "r2.json")
    assert _steps(result) == {"slow": ("succeeded", first_id), "fresh": ("succeeded", None)}
    assert [s["output"] for s in result["steps"]] == ["1", "2"]
    assert "resumedFrom" not in result
    assert result["steps"][0]["usage"] == {}  # reused: it cost nothing in this run


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-7]), "the journal is truncated (its last line is incomplete)"),
    (lambda p: p.write_bytes(b"{not json\n" + p.read_bytes()), ":1: the journal is corrupt (not a JSON event)"),
    (lambda p: p.write_bytes(p.read_bytes() + b"[1, 2]\n"), "the journal is corrupt (not a JSON event)"),
    (lambda p: p.unlink(), "cannot read the journal"),
])
def test_a_corrupt_or_truncated_journal_is_refused_with_exit_2_and_left_as_it_was(  # type: ignore[no-untyped-def]
        tmp_path: Path, failed_run: Path, damage, message) -> None:
    first_id, run_dir = _copy_of_first_run(failed_run, tmp_path)
    damage(run_dir / "events.jsonl")
    before = _tree(run_dir)
    resumed = run(["apply", "--resume", first_id, "-q"], tmp_path)
    assert resumed.returncode == 2, resumed.stderr
    assert_no_traceback(resumed)
    assert message in resumed.stderr and "events.jsonl" in resumed.stderr
    assert _tree(run_dir) == before
    assert len(run_dirs(tmp_path)) == 1  # no new run was started


def test_an_unknown_run_or_one_still_running_is_refused_with_exit_2(tmp_path: Path, failed_run: Path) -> None:
    first_id, run_dir = _copy_of_first_run(failed_run, tmp_path)
    unknown = run(["apply", "--resume", "nope", "-q"], tmp_path)
    assert unknown.returncode == 2 and "no run 'nope'" in unknown.stderr
    with RunLock(run_dir):  # what a live runner holds
        busy = run(["apply", "--resume", first_id, "-q"], tmp_path)
    assert busy.returncode == 2, busy.stderr
    assert f"run {first_id} is still running (its journal's lock is held)" in busy.stderr
    no_pattern = run(["apply", "-q"], tmp_path)
    assert no_pattern.returncode == 2 and "needs a PATTERN" in no_pattern.stderr


SLOW = """kind: pattern
name: killable
version: "1"
steps:
  - id: quick
    agents: {capabilities: [shell]}
    task: echo quick
  - id: slow
    needs: [quick]
    agents: {capabilities: [shell]}
    task: "sh -c 'touch started-$$; test -f go || sleep 60; echo slow'"
  - id: last
    needs: [slow]
    agents: {capabilities: [shell]}
    task: "sh -c 'test -f go2 || sleep 60; echo last'"
"""


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """The runners a test started: killed, their pipes closed, whatever the test did."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def _start(tmp_path: Path, *args: str, started: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([RUNNER, "apply", *args, "-q"], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env(), start_new_session=True)
    started.append(proc)
    return proc


def _wait_for(what, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _kill9(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and the agents it started: nothing cleans up
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _finished(tmp_path: Path, step: str) -> bool:
    """(While the run writes its journal: a missing file or an unfinished line is "not yet".)"""
    dirs = run_dirs(tmp_path)
    return bool(dirs) and any(e["event"] == "step_finished" and e.get("step") == step for e in read_events(dirs[-1]))


def test_kill_9_of_a_run_and_of_its_resume_leaves_journals_that_resume(
        tmp_path: Path, started: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "p.yaml").write_text(SLOW)
    proc = _start(tmp_path, "p.yaml", started=started)
    _wait_for(lambda: _finished(tmp_path, "quick") and list(tmp_path.glob("started-*")))
    _kill9(proc)
    (first_dir,) = run_dirs(tmp_path)
    assert run(["runs", "show", first_dir.name], tmp_path).stdout.count("unfinished") == 1

    (tmp_path / "go").write_text("")
    proc = _start(tmp_path, "--resume", first_dir.name, started=started)  # quick reused, slow runs, last hangs: kill it

    def second() -> Path | None:  # run ids sort by second, then at random: not "the last folder"
        return next((d for d in run_dirs(tmp_path) if d != first_dir), None)

    _wait_for(lambda: (d := second()) is not None and "last" in _ran(d))  # last runs
    _kill9(proc)
    second_dir = second()
    assert second_dir is not None
    assert _ran(second_dir) == {"slow", "last"}

    (tmp_path / "go2").write_text("")
    third = run(["apply", "--resume", second_dir.name, "-q", "-o", "r3.json"], tmp_path)
    assert third.returncode == 0, third.stderr
    result = _result(tmp_path / "r3.json")
    assert _steps(result) == {"quick": ("succeeded", first_dir.name), "slow": ("succeeded", second_dir.name),
                              "last": ("succeeded", None)}
    assert _ran(tmp_path / ".runner" / "runs" / result["runId"]) == {"last"}


@pytest.mark.slow  # fast lane: fingerprints: tests/resume/test_fingerprint.py
def test_a_changed_workspace_base_runs_the_step_that_works_in_it_again(tmp_path: Path) -> None:
    from gitrepo import git, make_repo

    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    (tmp_path / "a.txt").write_text("outside\n")  # what `other` reads (it has no workspace)
    write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "p", "runtimes": [{"type": "local"}], "agents": [
        {"id": "reader", "command": ["sh", "-c", "read t; cat a.txt"], "capabilities": ["read"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "ws", "steps": [
        {"id": "look", "agents": {"capabilities": ["read"]}, "task": "read", "workspace": {"from": str(repo)}},
        {"id": "other", "agents": {"capabilities": ["read"]}, "task": "again"}]})

    def apply(*args: str) -> dict:  # type: ignore[type-arg]
        proc = run(["apply", *args, "-q", "-o", "r.json"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        return _result(tmp_path / "r.json")

    first = apply("p.yaml", "--pool", "pool.yaml")
    assert first["steps"][0]["output"] == "one"
    same = apply("--resume", first["runId"])
    assert _steps(same) == {"look": ("succeeded", first["runId"]), "other": ("succeeded", first["runId"])}
    (repo / "a.txt").write_text("two\n")  # uncommitted: the working state is the base
    dirty = apply("--resume", first["runId"])
    assert _steps(dirty) == {"look": ("succeeded", None), "other": ("succeeded", first["runId"])}
    assert dirty["steps"][0]["output"] == "two"
    git(repo, "commit", "-qam", "two")
    committed = apply("--resume", dirty["runId"])  # the same files, now committed: another base commit
    assert _steps(committed)["other"] == ("succeeded", first["runId"])
