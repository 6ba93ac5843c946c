"""The built-in library (patterns/*.yaml), each run through the real CLI on real `command`
agents (tests/e2e/library_agent.py answers from the task it is given): outputs and exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_run import AGENT, REPO, assert_no_traceback, run, write_yaml

from runner.observe.report import validate_result

LIBRARY_AGENT = str(Path(AGENT).with_name("library_agent.py"))


def _pool(tmp_path: Path, agents: dict[str, tuple[list[str], list[str]]]) -> Path:
    """A local pool of scripted agents: id -> (capabilities, library_agent.py arguments)."""
    import sys

    return write_yaml(tmp_path / "test-pool.yaml", {
        "kind": "pool", "name": "test-pool", "runtimes": [{"type": "local"}],
        "agents": [{"id": name, "command": [sys.executable, LIBRARY_AGENT, *argv], "capabilities": caps}
                   for name, (caps, argv) in agents.items()]})


def _apply(tmp_path: Path, name: str, pool: Path, *inputs: str) -> tuple[int, dict]:
    args = ["apply", f"builtin:{name}", "--pool", str(pool), "-o", str(tmp_path / "r.json")]
    for pair in inputs:
        args += ["--input", pair]
    proc = run(args, tmp_path)
    assert_no_traceback(proc)
    result = json.loads((tmp_path / "r.json").read_text())
    assert validate_result(result) == []
    return proc.returncode, result


def _statuses(result: dict) -> dict[str, str]:
    return {s["id"]: s["status"] for s in result["steps"]}


@pytest.mark.parametrize(("reviewers", "verdict", "rounds", "agreed"), [
    # all agree at once: one round
    ({"r1": ("approve", "approve", "0.9"), "r2": ("approve", "approve", "0.8"), "r3": ("approve", "approve", "0.7")},
     "approve", "1", "True"),
    # disagree, then agree after seeing each other's reasons: two rounds
    ({"r1": ("approve", "reject", "0.9"), "r2": ("reject", "reject", "0.8"), "r3": ("reject", "reject", "0.7")},
     "reject", "2", "True"),
    # never agree: three rounds, the confident minority wins the weighted vote
    ({"r1": ("reject", "reject", "0.95"), "r2": ("approve", "approve", "0.3"), "r3": ("approve", "approve", "0.3")},
     "reject", "3", "False"),
])
def test_consensus_review(tmp_path: Path, reviewers: dict, verdict: str, rounds: str, agreed: str) -> None:
    pool = _pool(tmp_path, {name: (["review"], ["review", *argv]) for name, argv in reviewers.items()})
    code, result = _apply(tmp_path, "consensus-review", pool, "subject=def add(a, b): return a - b")
    assert code == 0, result
    assert result["outputs"]["verdict"] == verdict
    assert result["outputs"]["rounds"] == rounds and result["outputs"]["agreed"] == agreed
    ran = [s for s, status in _statuses(result).items() if status == "succeeded"]
    assert ran == [f"round{i}" for i in range(1, int(rounds) + 1)]


@pytest.mark.parametrize(("rounds", "text"), [("1", "draft+2"), ("2", "draft+2+2"), ("3", "draft+2+2+2")])
def test_critique_revise(tmp_path: Path, rounds: str, text: str) -> None:
    pool = _pool(tmp_path, {"author": (["write"], ["write"]), "c1": (["critique"], ["critique", "c1"]),
                            "c2": (["critique"], ["critique", "c2"])})
    code, result = _apply(tmp_path, "critique-revise", pool, "task=Write a haiku.", f"rounds={rounds}")
    assert code == 0, result
    assert result["outputs"] == {"text": text, "draft": "draft", "rounds": rounds}
    skipped = sorted(s for s, status in _statuses(result).items() if status == "skipped")
    assert skipped == sorted(f"{kind}{i}" for i in range(int(rounds) + 1, 4) for kind in ("critique", "revise"))


def test_critique_revise_refuses_too_many_rounds(tmp_path: Path) -> None:
    pool = _pool(tmp_path, {"author": (["write"], ["write"])})
    proc = run(["apply", "builtin:critique-revise", "--pool", str(pool), "--input", "task=x", "--input", "rounds=4"],
               tmp_path)
    assert proc.returncode == 2 and "rounds" in proc.stderr, proc.stderr
    assert_no_traceback(proc)


def test_map_reduce(tmp_path: Path) -> None:
    pool = _pool(tmp_path, {"m1": (["map"], ["map"]), "m2": (["map"], ["map"]), "red": (["reduce"], ["reduce"])})
    code, result = _apply(tmp_path, "map-reduce", pool, 'items=["ab", "cd", "ef"]', "instruction=Shout it.")
    assert code == 0, result
    assert result["outputs"] == {"result": "AB+CD+EF", "answers": '["AB", "CD", "EF"]'}


def test_judge(tmp_path: Path) -> None:
    pool = _pool(tmp_path, {"a1": (["answer"], ["answer", "four", "0.9"]),
                            "a2": (["answer"], ["answer", "2 + 2 = 4, exactly", "0.6"]),
                            "a3": (["answer"], ["answer", "five", "0.9"]),
                            "judge": (["judge"], ["judge", "exactly"])})
    code, result = _apply(tmp_path, "judge", pool, "question=What is 2 + 2?")
    assert code == 0, result
    out = result["outputs"]
    assert out["answer"] == "2 + 2 = 4, exactly" and out["agent"] == "a2"
    assert out["reasons"] == f"answer {out['choice']} mentions exactly"


@pytest.mark.parametrize(("request_", "route", "result", "ran"), [
    ("Should we merge def add(a, b): return a - b?", "review", "reject", ["classify", "review", "review/round1"]),
    ("Write a haiku.", "writing", "draft+2", ["classify", "writing", "writing/draft", "writing/critique1",
                                            "writing/revise1"]),
    ("What is 2 + 2?", "question", "2 + 2 = 4, exactly", ["classify", "question", "question/answer",
                                                          "question/judge"]),
])
def test_route(tmp_path: Path, request_: str, route: str, result: str, ran: list[str]) -> None:
    """The classifier's word picks the called built-in; the other calls and their steps are skipped."""
    pool = _pool(tmp_path, {"clerk": (["classify"], ["classify"]),
                            **{f"r{i}": (["review"], ["review", "reject", "reject", "0.8"]) for i in range(3)},
                            "author": (["write"], ["write"]), "c1": (["critique"], ["critique", "c1"]),
                            "c2": (["critique"], ["critique", "c2"]),
                            "a1": (["answer"], ["answer", "four", "0.9"]),
                            "a2": (["answer"], ["answer", "2 + 2 = 4, exactly", "0.6"]),
                            "a3": (["answer"], ["answer", "five", "0.9"]),
                            "judge": (["judge"], ["judge", "exactly"])})
    code, out = _apply(tmp_path, "route", pool, f"request={request_}")
    assert code == 0, out
    assert out["outputs"] == {"route": route, "result": result}
    statuses = _statuses(out)
    assert [s for s, status in statuses.items() if status == "succeeded"] == ran
    assert all(status == "skipped" for s, status in statuses.items() if s not in ran)


@pytest.mark.pty
def test_implement_test_fix(tmp_path: Path) -> None:
    """One agent (examples/best-of-n/agents/fixer.py `hasty`) gets it wrong; the failed test's output
    goes back to it; its fix passes and lands as a branch; the user's checkout is untouched."""
    import sys

    from gitrepo import fingerprint, git, leftovers, make_repo

    project = REPO / "examples/best-of-n/project"
    repo = make_repo(tmp_path / "repo", {p.name: p.read_text() for p in project.iterdir() if p.is_file()})
    before = fingerprint(repo)
    pool = write_yaml(tmp_path / "test-pool.yaml", {
        "kind": "pool", "name": "test-pool", "runtimes": [{"type": "local"}],
        "agents": [{"id": "hasty", "capabilities": ["code"],
                    "command": [sys.executable, str(REPO / "examples/best-of-n/agents/fixer.py"), "hasty"]}]})
    code, result = _apply(tmp_path, "implement-test-fix", pool, f"repo={repo}", "test=python3 test_calc.py",
                          "branch=fixed", "task=Implement add() in calc.py so that test_calc.py passes.")
    assert code == 0, result
    attempts = [(a["attempt"], a["status"], a["errorKind"]) for a in result["steps"][0]["attempts"]]
    assert attempts == [(1, "failed", "verify"), (2, "ok", None)]
    assert result["outputs"] == {"agent": "hasty", "branch": "fixed", "files": "calc.py"}
    assert "return a + b" in git(repo, "show", "fixed:calc.py")
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])
