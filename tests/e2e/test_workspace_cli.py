"""A real agent CLI (claude, against the vendor-API mock) changes a file in its own worktree;
runner captures the change. A denied tool call fails the attempt as `denied`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from gitrepo import fingerprint, leftovers, make_repo

from runner.api import apply
from runner.context import RunContext
from runner.spec.models import Pool, RuntimeConfig, StaticAgent
from runner.spec.pattern import parse_pattern
from tests.helpers.clis import definition
from tests.helpers.vendor_mock import VendorMock

pytestmark = [pytest.mark.cli, pytest.mark.pty]

PATTERN = """
name: cli-workspace
steps:
  - id: work
    agents: {capabilities: [code]}
    task: Create the file.
    workspace: {from: REPO}
"""


def _run(tmp_path: Path, approval: str):  # noqa: ANN202
    repo = make_repo(tmp_path / "repo", {"README": "a repository\n"})
    before = fingerprint(repo)
    with VendorMock("tool") as mock:
        d = replace(definition("claude", mock.url, approval=approval), capabilities=("code",))
        pool = Pool(name="claude", agents=(StaticAgent(id="claude1", name="claude1", definition=d),),
                    runtimes=(RuntimeConfig(type="local"),))
        ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state",
                         environ={"RUNNER_TEST_KEY": "sk-test-0123456789", "PATH": "/usr/bin:/bin"})
        outcome = apply(parse_pattern(PATTERN.replace("REPO", str(repo)), "p.yaml"), pool, {}, ctx=ctx)
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])
    return outcome, repo


def test_claude_changes_a_file_in_its_worktree_and_runner_captures_it(tmp_path: Path) -> None:
    outcome, repo = _run(tmp_path, "permissive")
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    assert [f["path"] for f in step["change"]["files"]] == ["created_by_mock.txt"]
    assert step["change"]["files"][0]["status"] == "added"
    assert Path(step["change"]["patch"]).read_text().startswith("diff --git a/created_by_mock.txt")
    assert not (repo / "created_by_mock.txt").exists()


def test_a_denied_tool_call_fails_the_attempt_as_denied(tmp_path: Path) -> None:
    outcome, _ = _run(tmp_path, "standard")
    assert outcome.exit_code == 1
    attempt = outcome.result["steps"][0]["attempts"][0]
    assert attempt["errorKind"] == "denied" and "denied permission to use: Bash" in attempt["error"]
