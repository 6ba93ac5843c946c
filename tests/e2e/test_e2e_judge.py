"""A judge step picks a change by agent id and lands it (through the real CLI, real git).

Two `command` agents (examples/best-of-n/agents/fixer.py) implement add() in worktrees of their
own; `best-change` would choose `careful`, but a later judge step answers `verbose`, and its
`land: {from: implement, change: ...}` lands verbose's change as a branch. A judge naming an
agent without a change fails the step with kind `land`, and nothing lands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from e2e_run import REPO, assert_no_traceback, run, write_yaml
from gitrepo import fingerprint, git, leftovers, make_repo, write

from runner.observe.report import validate_result

pytestmark = pytest.mark.pty

FIXER = REPO / "examples/best-of-n/agents/fixer.py"


def _setup(tmp_path: Path, answer: str, change: str | None) -> tuple[Path, Path, Path]:
    project = REPO / "examples/best-of-n/project"
    repo = make_repo(tmp_path / "repo", {p.name: p.read_text() for p in project.iterdir() if p.is_file()})
    write(repo, {"scratch.txt": "untracked, mine\n"})
    land = {"to": "branch", "branch": "judged", "from": "implement", **({"change": change} if change else {})}
    pattern = write_yaml(tmp_path / "p.yaml", {"kind": "pattern", "name": "judged", "steps": [
        {"id": "implement", "agents": {"capabilities": ["code"], "min": 2}, "task": "implement add()",
         "workspace": {"from": str(repo), "requireChange": True}, "verify": "python3 test_calc.py",
         "aggregation": "best-change"},
        {"id": "judge", "agents": {"capabilities": ["review"]},
         "task": "{% for c in steps.implement.changes %}{{ c.agent }}: {{ c.lines }} lines\n{% endfor %}",
         "land": land}],
        "outputs": {"picked": "{{ steps.judge.change.agent }}", "branch": "{{ steps.judge.landed.branch }}",
                    "best": "{{ steps.implement.change.agent }}"}})
    agents = [{"id": style, "command": [sys.executable, str(FIXER), style], "capabilities": ["code"]}
              for style in ("careful", "verbose")]
    # the judge reads the changes on stdin and answers an agent id
    agents.append({"id": "judge", "capabilities": ["review"],
                   "command": ["sh", "-c", f'task=$(cat); case "$task" in *"verbose: "*) echo "  {answer}";; esac']})
    pool = write_yaml(tmp_path / "pool.yaml", {"kind": "pool", "name": "judged", "runtimes": [{"type": "local"}],
                                               "agents": agents})
    return repo, pattern, pool


@pytest.mark.parametrize("change", [None, "{{ steps.judge.output | trim }}"])
def test_the_judge_picks_verbose_and_its_change_lands(tmp_path: Path, change: str | None) -> None:
    repo, pattern, pool = _setup(tmp_path, "verbose", change)
    before = fingerprint(repo)
    proc = run(["apply", str(pattern), "--pool", str(pool), "--state-dir", str(tmp_path / "state"),
                "-o", str(tmp_path / "r.json")], tmp_path, timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    result = json.loads((tmp_path / "r.json").read_text())
    assert validate_result(result) == []
    assert result["outputs"] == {"picked": "verbose", "branch": "judged", "best": "careful"}
    judge = result["steps"][1]
    assert judge["change"]["agent"] == "verbose" and judge["landed"]["mode"] == "branch"
    assert git(repo, "show", "judged:NOTES.md") == "add() checks its arguments' types.\n"
    assert "total += b" in git(repo, "show", "judged:calc.py")
    assert "landed as branch judged" in proc.stdout
    assert "chosen by judge" in git(repo, "log", "-1", "--format=%s", "judged")
    assert git(repo, "rev-list", "--count", "main..judged").strip() == "1"
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])


def test_a_judge_naming_an_agent_without_a_change_fails_the_step_and_lands_nothing(tmp_path: Path) -> None:
    repo, pattern, pool = _setup(tmp_path, "nobody", None)
    before = fingerprint(repo)
    proc = run(["apply", str(pattern), "--pool", str(pool), "--state-dir", str(tmp_path / "state"),
                "-o", str(tmp_path / "r.json")], tmp_path, timeout=100)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert ("step `judge`: land names agent `nobody`, which has no change in step `implement` "
            "(agents with a change: careful, verbose)") in proc.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert validate_result(result) == []
    assert result["steps"][1]["error"]["kind"] == "land"
    assert git(repo, "branch", "--list", "judged").strip() == ""
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])
