"""Record & replay (`runner apply --record/--replay`) with the consensus example's real agents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e_run import REPO, assert_no_traceback, events, run

pytestmark = pytest.mark.pty

PATTERN = "examples/consensus/pattern.yaml"
POOL = "examples/consensus/pool.yaml"
KEY = "sk-ant-" + "a1b2c3d4" * 4  # key-shaped: redacted wherever it shows up


def _broken_pool(tmp_path: Path) -> Path:
    """The example's pool with every agent's program missing: any spawn would fail."""
    text = (REPO / POOL).read_text().replace('"python3", "examples/consensus/reviewer.py"', '"/nonexistent/agent"')
    assert "/nonexistent/agent" in text
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def _apply(tmp_path: Path, name: str, *args: str, pool: str | Path = POOL):  # type: ignore[no-untyped-def]
    return run(["apply", PATTERN, "--pool", str(pool), "--state-dir", str(tmp_path / name), "-q",
                "-o", str(tmp_path / f"{name}.json"), *args], REPO)


def _run_dir(tmp_path: Path, name: str) -> Path:
    return next((tmp_path / name / "runs").glob("*/"))


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One recorded run of the example (ten agent starts), shared by the module's tests."""
    folder = tmp_path_factory.mktemp("recording")
    proc = _apply(folder, "recorded", "--record", str(folder / "consensus.jsonl"), "--input", f"question=Ship {KEY}?")
    assert proc.returncode == 0, proc.stderr
    return folder


@pytest.fixture
def cassette(tmp_path: Path, recording: Path) -> Path:
    """This test's own copy of the recorded cassette (some tests damage or extend it)."""
    path = tmp_path / "consensus.jsonl"
    shutil.copyfile(recording / "consensus.jsonl", path)
    shutil.copyfile(recording / "recorded.json", tmp_path / "recorded.json")
    return path


def test_a_replay_gives_the_recorded_outputs_without_starting_any_agent(tmp_path: Path, cassette: Path) -> None:
    lines = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert lines[0]["cassette"] == 1 and lines[0]["pattern"]["name"] == "review-consensus"
    assert len(lines[0]["pattern"]["sha256"]) == 64
    assert len(lines) == 1 + 10  # two steps of five agents
    assert KEY not in cassette.read_text()  # redacted like every other output
    proc = _apply(tmp_path, "replayed", "--replay", str(cassette), "--input", f"question=Ship {KEY}?",
                  pool=_broken_pool(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    recorded = json.loads((tmp_path / "recorded.json").read_text())
    replayed = json.loads((tmp_path / "replayed.json").read_text())
    assert replayed["outputs"] == recorded["outputs"]
    for got, want in zip(replayed["steps"], recorded["steps"], strict=True):
        assert (got["status"], got["output"], got["confidence"]) == (want["status"], want["output"],
                                                                     want["confidence"])
    names = {e["event"] for e in events(_run_dir(tmp_path, "replayed"))}
    assert "attempt_finished" in names and "agent_event" not in names  # no agent started, none stopped
    assert all(a["runtime"] is None for a in replayed["agents"])


def test_a_task_missing_from_the_cassette_fails_naming_its_step_with_exit_2(tmp_path: Path, cassette: Path) -> None:
    proc = _apply(tmp_path, "changed", "--replay", str(cassette), "--input", "question=Another question?",
                  pool=_broken_pool(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert "step `consensus` attempt 1: no answer of an agent of type command in cassette" in proc.stderr


@pytest.mark.slow  # fast lane: replay: the other tests here
def test_replay_missing_run_runs_the_real_agents_and_adds_their_exchanges(tmp_path: Path, cassette: Path) -> None:
    before = len(cassette.read_text().splitlines())
    proc = _apply(tmp_path, "extended", "--replay", str(cassette), "--replay-missing", "run",
                  "--input", "question=Another question?")
    assert proc.returncode == 0, proc.stderr
    assert len(cassette.read_text().splitlines()) == before + 10
    again = _apply(tmp_path, "again", "--replay", str(cassette), "--input", "question=Another question?",
                   pool=_broken_pool(tmp_path))
    assert again.returncode == 0, again.stderr
    assert (json.loads((tmp_path / "again.json").read_text())["outputs"]
            == json.loads((tmp_path / "extended.json").read_text())["outputs"])


@pytest.mark.parametrize(("damage", "message"), [
    (lambda text: text[:-40], "cassette is truncated (its last line is incomplete)"),
    (lambda text: text.replace('"answer": {', '"answer": {{', 1), "cassette is corrupt"),
    (lambda text: text.replace('"version": "1.0.0"', '"version": "0.9.0"', 1),
     "was recorded for pattern review-consensus version 0.9.0, not review-consensus version 1.0.0"),
    (lambda text: text.replace('"cassette": 1', '"cassette": 7', 1), "cassette format 7 is not supported"),
    (lambda text: "", "cassette is empty"),
])
def test_a_bad_cassette_is_a_clear_error_with_exit_2(tmp_path: Path, cassette: Path, damage, message) -> None:  # type: ignore[no-untyped-def]
    cassette.write_text(damage(cassette.read_text()))
    proc = _apply(tmp_path, "bad", "--replay", str(cassette), pool=_broken_pool(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert_no_traceback(proc)
    assert message in proc.stderr
    assert not (tmp_path / "bad").exists()  # refused before the run started


WS_PATTERN = """kind: pattern
name: ws
version: "1"
steps:
  - id: edit
    agents: {capabilities: [shell]}
    workspace: {from: repo, mode: worktree, requireChange: true}
    task: "echo changed > a.txt; echo done"
outputs:
  files: "{{ steps.edit.change.files | map(attribute='path') | join(', ') }}"
"""
WS_BROKEN_POOL = """kind: pool
name: broken
templates:
  - {name: shell, type: command, command: ["/nonexistent/agent"], capabilities: [shell]}
"""


@pytest.mark.slow  # fast lane: replay: the other tests here
def test_a_recorded_change_is_made_again_in_the_replayed_workspace(tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    (tmp_path / "p.yaml").write_text(WS_PATTERN)
    (tmp_path / "broken.yaml").write_text(WS_BROKEN_POOL)
    rec = run(["apply", "p.yaml", "-q", "--record", "c.jsonl", "-o", "r1.json"], tmp_path)
    assert rec.returncode == 0, rec.stderr
    exchange = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[1])
    assert "+changed" in exchange["patch"]
    rep = run(["apply", "p.yaml", "--pool", "broken.yaml", "-q", "--replay", "c.jsonl", "-o", "r2.json"], tmp_path)
    assert rep.returncode == 0, rep.stderr
    replayed = json.loads((tmp_path / "r2.json").read_text())
    assert replayed["outputs"] == {"files": "a.txt"}
    patch = Path(replayed["steps"][0]["change"]["patch"]).read_text()
    assert "+changed" in patch
