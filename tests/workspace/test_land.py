"""Landing a change: a branch without touching the checkout, apply all-or-nothing, hostile
patches refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import fingerprint, git, make_repo, write

from runner.errors import WorkspaceError
from runner.workspace.capture import capture, change_of
from runner.workspace.land import land_apply, land_branch, land_patch
from runner.workspace.snapshot import snapshot
from runner.workspace.worktree import create, remove


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    raise NotImplementedError\n",
                                         "README": "calc\n"})


def _change(repo: Path, tmp_path: Path, files: dict[str, str]):  # noqa: ANN202
    source = snapshot(repo)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    write(ws.path, files)
    change = capture(ws.path, ws.base)
    remove(ws.path, ws.repo, ws.branch)
    return source, change


def test_branch_gets_one_commit_and_the_checkout_with_uncommitted_edits_is_untouched(repo: Path, tmp_path: Path) -> None:
    write(repo, {"README": "calc\nwork in progress\n", "notes.txt": "mine\n"})
    source, change = _change(repo, tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n"})
    before = fingerprint(repo)
    landed = land_branch(source, change, "feature/add", "implement add")
    assert fingerprint(repo) == before
    head = git(repo, "rev-parse", "HEAD").strip()
    assert landed["parent"] == head and not landed["onSnapshot"]
    assert git(repo, "rev-list", "--count", f"{head}..feature/add").strip() == "1"
    assert git(repo, "show", "feature/add:calc.py").endswith("return a + b\n")
    assert git(repo, "show", "feature/add:README") == "calc\n"  # the user's uncommitted work stays theirs
    assert git(repo, "log", "-1", "--format=%s", "feature/add").strip() == "implement add"
    with pytest.raises(WorkspaceError, match="branch `feature/add` already exists"):
        land_branch(source, change, "feature/add", "again")


def test_a_change_to_uncommitted_work_lands_on_the_snapshot(repo: Path, tmp_path: Path) -> None:
    write(repo, {"notes.txt": "draft\n"})
    source, change = _change(repo, tmp_path, {"notes.txt": "draft\nfinished by the agent\n"})
    landed = land_branch(source, change, "notes", "finish the notes")
    assert landed["onSnapshot"] and landed["parent"] == source.base


def test_apply_refuses_a_dirty_tree_unless_forced_and_applies_all_or_nothing(repo: Path, tmp_path: Path) -> None:
    source, change = _change(repo, tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n", "new.py": "x = 1\n"})
    write(repo, {"README": "dirty\n"})
    with pytest.raises(WorkspaceError, match="uncommitted changes .* --force"):
        land_apply(source, change, force=False)
    assert land_apply(source, change, force=True)["files"] == 2
    assert (repo / "new.py").read_text() == "x = 1\n" and "a + b" in (repo / "calc.py").read_text()


def test_apply_on_a_conflict_is_refused_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    source, change = _change(repo, tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n", "new.py": "x = 1\n"})
    write(repo, {"calc.py": "something else entirely\n"})
    git(repo, "commit", "-qam", "the user moved on")
    before = fingerprint(repo)
    with pytest.raises(WorkspaceError, match="conflicts with"):
        land_apply(source, change, force=False)
    assert fingerprint(repo) == before and not (repo / "new.py").exists()


def _hostile(path: str, body: str = "+pwned\n", header: str = "new file mode 100644\n") -> bytes:
    return (f"diff --git a/{path} b/{path}\n{header}index 0000000..1111111\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1 @@\n{body}").encode()


@pytest.mark.parametrize(("patch", "message"), [
    (_hostile(".git/hooks/post-checkout"), "inside .git"),
    (_hostile("sub/.GIT/config"), "inside .git"),
    (_hostile("../outside.txt"), "outside the workspace"),
    (_hostile("/etc/evil"), "outside the workspace"),
    (_hostile("link", body="+/etc\n\\ No newline at end of file\n", header="new file mode 120000\n")
     + b"\n" + _hostile("link/passwd"), "symlink"),
    (_hostile("up", body="+../../..\n", header="new file mode 120000\n"), "outside the workspace"),
])
def test_hostile_patches_are_refused_and_nothing_is_written(repo: Path, tmp_path: Path, patch: bytes,
                                                             message: str) -> None:
    change = change_of(patch)
    before = fingerprint(repo)
    source = snapshot(repo)
    for land in (lambda: land_apply(source, change, force=True),
                 lambda: land_branch(source, change, "evil", "evil"),
                 lambda: land_patch(change, tmp_path / "out.patch")):
        with pytest.raises(WorkspaceError, match=message):
            land()
    assert fingerprint(repo) == before and not (tmp_path / "out.patch").exists()
    assert not (tmp_path / "outside.txt").exists()
    assert git(repo, "branch", "--list", "evil") == ""


def test_a_patch_through_a_symlink_already_in_the_tree_is_refused(repo: Path, tmp_path: Path) -> None:
    (repo / "docs").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError, match="through the symlink `docs`"):
        land_apply(snapshot(repo), change_of(_hostile("docs/x.txt")), force=True)
    assert not (tmp_path / "x.txt").exists()
