"""Snapshots leave the user's checkout alone; capture sees every kind of change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from gitrepo import fingerprint, git, leftovers, make_repo, write

from runner.errors import WorkspaceError
from runner.workspace.capture import capture
from runner.workspace.snapshot import snapshot
from runner.workspace.worktree import create, remove


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = make_repo(tmp_path / "repo", {"a.txt": "one\ntwo\n", "src/b.py": "x = 1\n", ".gitignore": "*.log\n",
                                      "old.txt": "rename me\n" * 5, "gone.txt": "delete me\n"})
    write(r, {"a.txt": "one\ntwo\nuncommitted\n", "new.txt": "untracked\n", "debug.log": "ignored\n"})
    git(r, "add", "src/b.py")  # something staged too: the index must come out as it was
    return r


def test_snapshot_includes_uncommitted_and_untracked_but_not_ignored_and_touches_nothing(repo: Path) -> None:
    before = fingerprint(repo)
    source = snapshot(repo)
    assert fingerprint(repo) == before
    head = git(repo, "rev-parse", "HEAD").strip()
    assert source.base != head and source.head == head
    assert git(repo, "rev-parse", f"{source.base}^").strip() == head
    files = set(git(repo, "ls-tree", "-r", "--name-only", source.base).split())
    assert {"a.txt", "new.txt", "src/b.py"} <= files and "debug.log" not in files
    assert git(repo, "show", f"{source.base}:a.txt").endswith("uncommitted\n")


def test_a_clean_checkout_snapshots_to_head(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "r", {"f": "1\n"})
    assert snapshot(r).base == git(r, "rev-parse", "HEAD").strip()


def test_the_state_directory_is_never_part_of_the_base(repo: Path) -> None:
    write(repo, {".runner/runs/x/events.jsonl": "{}\n"})
    source = snapshot(repo, exclude=(repo / ".runner",))
    assert ".runner/runs/x/events.jsonl" not in git(repo, "ls-tree", "-r", "--name-only", source.base)


def test_an_unknown_base_ref_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(WorkspaceError, match="workspace base `nope` is not a commit of"):
        snapshot(repo, "nope")


def test_capture_sees_new_modified_deleted_renamed_mode_and_binary(repo: Path, tmp_path: Path) -> None:
    source = snapshot(repo)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    write(ws.path, {"a.txt": "one\nTWO\nuncommitted\n", "added.txt": "new\n", "blob.bin": bytes(range(256)) * 40,
                    "debug2.log": "ignored\n"})
    (ws.path / "gone.txt").unlink()
    (ws.path / "old.txt").rename(ws.path / "moved.txt")
    os.chmod(ws.path / "src/b.py", 0o755)
    git(ws.path, "commit", "-qam", "the agent commits some of it itself")
    change = capture(ws.path, ws.base)
    by_path = {f.path: f for f in change.files}
    assert by_path["a.txt"].status == "modified" and (by_path["a.txt"].insertions, by_path["a.txt"].deletions) == (1, 1)
    assert by_path["added.txt"].status == "added"
    assert by_path["gone.txt"].status == "deleted"
    assert by_path["moved.txt"].status == "renamed" and by_path["moved.txt"].old_path == "old.txt"
    assert by_path["src/b.py"].mode == "100755"
    assert by_path["blob.bin"].binary
    assert "debug2.log" not in by_path
    # the patch reproduces the workspace exactly on a fresh checkout of the base
    other = create(source, "worktree", tmp_path / "other", "runner/t/s/b-1")
    git(other.path, "apply", "--binary", "-", input=change.patch)
    assert (other.path / "blob.bin").read_bytes() == bytes(range(256)) * 40
    assert (other.path / "moved.txt").exists() and not (other.path / "old.txt").exists()
    for ws_ in (ws, other):
        assert remove(ws_.path, ws_.repo, ws_.branch) == []
    assert leftovers(repo) == ([], [])


def test_an_untouched_workspace_has_an_empty_change(repo: Path, tmp_path: Path) -> None:
    ws = create(snapshot(repo), "worktree", tmp_path / "ws", "runner/t/s/a-1")
    change = capture(ws.path, ws.base)
    assert change.empty and change.files == () and change.digest == ""
    remove(ws.path, ws.repo, ws.branch)


def test_copy_mode_works_on_a_plain_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write(plain, {"x.txt": "1\n", "sub/y.txt": "2\n", ".runner/skip": "state\n"})
    source = snapshot(plain, exclude=(plain / ".runner",))
    assert not source.is_git
    ws = create(source, "copy", tmp_path / "ws", "unused")
    assert (ws.path / "sub/y.txt").read_text() == "2\n" and not (ws.path / ".runner").exists()
    (ws.path / "x.txt").write_text("changed\n")
    change = capture(ws.path, ws.base)
    assert [f.path for f in change.files] == ["x.txt"]
    assert not (plain / ".git").exists()
    remove(ws.path, ws.repo, ws.branch)
    assert not ws.path.exists()


def test_paths_with_spaces_and_quotes_are_read_exactly(repo: Path, tmp_path: Path) -> None:
    # git ends a `+++` name holding a space with a tab, and quotes one holding `"`: neither is the path
    ws = create(snapshot(repo), "worktree", tmp_path / "ws", "runner/t/s/a-1")
    write(ws.path, {"with space.txt": "a\n", 'say "hi".txt': "b\n", "tab\there.txt": "c\n"})
    change = capture(ws.path, ws.base)
    assert sorted(f.path for f in change.files) == ['say "hi".txt', "tab\there.txt", "with space.txt"]
    remove(ws.path, ws.repo, ws.branch)


def test_an_edit_in_the_same_second_as_the_index_is_in_the_snapshot(tmp_path: Path) -> None:
    # git re-reads a file whose mtime is not older than the index ("racily clean"); the snapshot's
    # copy of the index must keep the index's mtime, or an edit of the same size made in the
    # index's second and snapshotted in a later one looks unchanged. The later second is waited
    # for: it is the case under test, not a margin.
    exercised = 0
    for i in range(10):
        r = make_repo(tmp_path / f"r{i}", {"a.txt": "one\n"})
        (r / "a.txt").write_text("two\n")
        second = (r / ".git" / "index").stat().st_mtime_ns // 10**9
        if (r / "a.txt").stat().st_mtime_ns // 10**9 != second:
            continue  # the edit fell in the next second: not the racy case
        while time.time_ns() // 10**9 <= second:
            time.sleep(0.01)
        assert git(r, "show", f"{snapshot(r).base}:a.txt") == "two\n", i
        exercised += 1
        if exercised == 2:
            break
    assert exercised
