"""`--resume` of a run whose step landed its change: the landing is part of what is reused.

A reused step's landing is not done again (`land: apply` would apply the patch a second time,
`land: branch` would make a second branch); a landed step that runs again lands again, as in a
fresh run. Real git repositories, real agents editing files, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_run import assert_no_traceback, events, run, write_yaml
from gitrepo import git, make_repo

pytestmark = pytest.mark.pty


def _setup(tmp_path: Path, land: Any) -> Path:
    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "p", "runtimes": [{"type": "local"}], "agents": [
        {"id": "fixer", "command": ["sh", "-c", "read t; echo two >> a.txt; echo fixed"], "capabilities": ["code"]},
        {"id": "checker", "command": ["sh", "-c", f"read t; cat {tmp_path / 'flag'}"], "capabilities": ["check"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "landed", "steps": [
        {"id": "fix", "agents": {"capabilities": ["code"]}, "task": "fix it", "workspace": {"from": str(repo)},
         "land": land},
        {"id": "check", "needs": ["fix"], "agents": {"capabilities": ["check"]}, "task": "check"}]})
    return repo


def _apply(tmp_path: Path, *args: str, code: int = 0) -> dict[str, Any]:
    proc = run(["apply", *args, "-q", "-o", "r.json"], tmp_path)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    return json.loads((tmp_path / "r.json").read_text())


def _steps(result: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {s["id"]: (s["status"], s.get("reusedFrom")) for s in result["steps"]}


def _landings(tmp_path: Path, run_id: str) -> list[dict[str, Any]]:
    return [e for e in events(tmp_path / ".runner" / "runs" / run_id) if e["event"] == "change_landed"]


def test_land_apply_is_reused_not_applied_twice_and_applied_again_when_the_step_runs_again(tmp_path: Path) -> None:
    repo = _setup(tmp_path, "apply")
    first = _apply(tmp_path, "p.yaml", "--pool", "pool.yaml", code=1)  # check fails: no flag file
    assert _steps(first) == {"fix": ("succeeded", None), "check": ("failed", None)}
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    (tmp_path / "flag").write_text("ok\n")

    resumed = _apply(tmp_path, "--resume", first["runId"])
    assert _steps(resumed) == {"fix": ("succeeded", first["runId"]), "check": ("succeeded", None)}
    assert (repo / "a.txt").read_text() == "one\ntwo\n"  # applied once
    assert resumed["steps"][0]["landed"] == first["steps"][0]["landed"]
    assert _landings(tmp_path, resumed["runId"]) == []
    again = _apply(tmp_path, "--resume", resumed["runId"])  # a resume of the resume: still reused
    assert _steps(again) == {"fix": ("succeeded", first["runId"]), "check": ("succeeded", resumed["runId"])}
    assert (repo / "a.txt").read_text() == "one\ntwo\n"

    git(repo, "checkout", "-q", "a.txt")  # the landing is undone: the step runs and lands again
    rerun = _apply(tmp_path, "--resume", again["runId"])
    assert _steps(rerun)["fix"] == ("succeeded", None)
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    assert [e["mode"] for e in _landings(tmp_path, rerun["runId"])] == ["apply"]


def test_land_branch_is_reused_not_made_again_and_made_anew_when_the_step_runs_again(tmp_path: Path) -> None:
    repo = _setup(tmp_path, "branch")
    (repo / "notes.txt").write_text("uncommitted work\n")  # the base is a snapshot: it must be the same again
    first = _apply(tmp_path, "p.yaml", "--pool", "pool.yaml", code=1)
    branch = first["steps"][0]["landed"]["branch"]
    assert branch == f"runner-land/{first['runId']}/fix"
    commit = git(repo, "rev-parse", branch).strip()
    (tmp_path / "flag").write_text("ok\n")

    resumed = _apply(tmp_path, "--resume", first["runId"])
    assert _steps(resumed) == {"fix": ("succeeded", first["runId"]), "check": ("succeeded", None)}
    assert resumed["steps"][0]["landed"]["branch"] == branch
    assert git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/runner-land").split() == [branch]
    assert git(repo, "rev-parse", branch).strip() == commit

    (tmp_path / "p.yaml").write_text((tmp_path / "p.yaml").read_text() + "# edited: every step runs again\n")
    rerun = _apply(tmp_path, "--resume", resumed["runId"])
    assert _steps(rerun)["fix"] == ("succeeded", None)
    assert rerun["steps"][0]["landed"]["branch"] == f"runner-land/{rerun['runId']}/fix"
    assert sorted(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/runner-land").split()) == \
        sorted([branch, f"runner-land/{rerun['runId']}/fix"])


def test_a_judge_that_applied_another_steps_change_is_reused_with_that_step(tmp_path: Path) -> None:
    """`land: {to: apply, from: STEP}`: the landing changed the tree STEP's workspaces came from; the
    resume recognises it for both steps."""
    repo = _setup(tmp_path, None)
    pool = json.loads((tmp_path / "pool.yaml").read_text())
    pool["agents"].append({"id": "judge", "command": ["sh", "-c", "read t; echo fixer"], "capabilities": ["judge"]})
    write_yaml(tmp_path / "pool.yaml", pool)
    write_yaml(tmp_path / "p.yaml", {"name": "judged", "steps": [
        {"id": "fix", "agents": {"capabilities": ["code"]}, "task": "fix it", "workspace": {"from": str(repo)}},
        {"id": "pick", "needs": ["fix"], "agents": {"capabilities": ["judge"]}, "task": "which?",
         "land": {"to": "apply", "from": "fix", "change": "{{ steps.pick.output | trim }}"}},
        {"id": "check", "needs": ["pick"], "agents": {"capabilities": ["check"]}, "task": "check"}]})
    first = _apply(tmp_path, "p.yaml", "--pool", "pool.yaml", code=1)
    assert _steps(first)["pick"] == ("succeeded", None)
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    (tmp_path / "flag").write_text("ok\n")
    resumed = _apply(tmp_path, "--resume", first["runId"])
    assert _steps(resumed) == {"fix": ("succeeded", first["runId"]), "pick": ("succeeded", first["runId"]),
                               "check": ("succeeded", None)}
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
